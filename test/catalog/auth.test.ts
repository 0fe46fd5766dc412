import { describe, expect, it } from 'vitest';
import { userIdFromAuthorization } from '../../schema/auth.ts';

describe('userIdFromAuthorization (demo tokens)', () => {
  it.each([
    ['Bearer token-1', '1'],
    ['Bearer token-50', '50'],
    ['Bearer token-123456789012', '123456789012'],
    ['bearer token-7', '7'],
    ['BEARER   token-7', '7'],
    ['  Bearer token-7  ', '7'],
  ])('reads %j as user %j', (header, userId) => {
    expect(userIdFromAuthorization(header)).toBe(userId);
  });

  it.each([
    null,
    undefined,
    '',
    'Bearer',
    'Bearer ',
    'token-7',
    'Bearer token-0',
    'Bearer token-07',
    'Bearer token--7',
    'Bearer token-7x',
    'Bearer token-7.0',
    'Bearer TOKEN-7',
    'Bearer token-',
    'Bearer token-7 extra',
    'Basic token-7',
    'Bearertoken-7',
  ])('signs %j in as nobody', (header) => {
    expect(userIdFromAuthorization(header)).toBeNull();
  });
});
