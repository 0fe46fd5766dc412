/**
 * Refuses request bodies larger than the limit with 413, whatever reads them next (the cache's
 * HTTP front, yoga, or anything else on the server). A declared `Content-Length` is checked
 * before a byte is read; a chunked body declares nothing, so it is read here, stopped at the
 * limit, and handed on as `req.body` (which the front and yoga's node adapter both take).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

export function limitRequestBodies(next: RequestListener, maxBytes: number): RequestListener {
  return (req, res) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined) {
      // Node reads no more than the declared length, so a body within it is within the limit.
      if (Number(declared) > maxBytes) return refuse(req, res, maxBytes);
      return next(req, res);
    }
    if (req.headers['transfer-encoding'] === undefined) return next(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBytes) {
        refused = true;
        chunks.length = 0;
        refuse(req, res, maxBytes);
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      (req as IncomingMessage & { body?: string }).body = Buffer.concat(chunks, size).toString('utf8');
      next(req, res);
    });
  };
}

/** 413 as a GraphQL-over-HTTP error; the connection closes after it, unread upload and all. */
function refuse(req: IncomingMessage, res: ServerResponse, maxBytes: number): void {
  const body = JSON.stringify({
    errors: [
      {
        message: `The request body is larger than the limit of ${maxBytes} bytes (MAX_BODY_BYTES).`,
        extensions: { code: 'PAYLOAD_TOO_LARGE' },
      },
    ],
  });
  res.writeHead(413, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    connection: 'close',
  });
  res.end(body);
  // Discard the rest of the upload rather than buffer it; the socket closes after the answer.
  req.resume();
}
