/** Response schemas of the auth routes (request schemas stay beside their routes). */
import { Type } from '@sinclair/typebox';
import { errorResponse } from '../web/schemas.ts';

export const TokenBody = Type.Object(
  {
    access_token: Type.String({ description: 'A JWT; send it as `Authorization: Bearer <token>`' }),
    token_type: Type.Literal('bearer'),
    username: Type.String(),
  },
  {
    description: 'Signed in',
    examples: [
      {
        access_token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYXJrIn0.sig',
        token_type: 'bearer',
        username: 'mark',
      },
    ],
  },
);
export const MeBody = Type.Object(
  {
    id: Type.Integer(),
    username: Type.String(),
    email: Type.Union([Type.String(), Type.Null()], { description: 'Lower-cased; null when none' }),
    email_verified: Type.Boolean(),
    expires_at: Type.Integer({ description: 'When the presented credential expires (Unix seconds)' }),
  },
  {
    description: 'The caller',
    examples: [
      { id: 1, username: 'mark', email: 'mark@example.com', email_verified: true, expires_at: 1767229200 },
    ],
  },
);
export const RefreshedBody = Type.Object(
  {
    access_token: Type.String({ description: 'A JWT for the same session' }),
    token_type: Type.Literal('bearer'),
    expires_at: Type.Integer({ description: 'When the new token expires (Unix seconds)' }),
  },
  {
    description: 'Renewed (or, when it cannot be renewed further, the current token)',
    examples: [{ access_token: 'eyJhbGciOiJIUzI1NiJ9.…', token_type: 'bearer', expires_at: 1767232800 }],
  },
);
export const notSignedIn = errorResponse('No valid credential', 'Not authenticated');
export const throttled = errorResponse(
  'Too many failed logins (see Retry-After)',
  'Too many failed logins. Try again in 60 seconds.',
);
