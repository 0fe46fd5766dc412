/**
 * Our server as `npm start` runs it (server/main.ts: same configuration from the environment,
 * same code), from its sources under tsx rather than compiled, plus one thing for the bench: it exits when the bench's stdin pipe
 * closes, so that a bench killed outright (SIGKILL) leaves no server behind.
 */
process.stdin.resume();
process.stdin.once('end', () => process.exit(0));

await import('../../server/main.ts');
