/**
 * What the account page and its pushed fragments show, computed once in plain functions so the
 * page and a live update render the same partial from the same values.
 */
import type { SessionRow } from '../auth/sessions.ts';
import { ACTIVITY_KINDS, type ActivityEntry } from './activity.ts';

export interface SessionView {
  id: string;
  domId: string;
  device: string;
  ip: string;
  created: TimeView;
  lastSeen: TimeView;
  current: boolean;
}

export interface TimeView {
  iso: string;
  text: string;
}

export interface ActivityView {
  domId: string;
  label: string;
  ip: string;
  device: string;
  at: TimeView;
}

export function timeView(seconds: number): TimeView {
  const iso = new Date(seconds * 1000).toISOString();
  return { iso, text: `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` };
}

/** An element id for a session id (`jti` UUIDs, or `sha256:`-style ids): letters, digits, `-`, `_`. */
export function sessionDomId(id: string): string {
  return `session-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/**
 * "Firefox on Linux" from a User-Agent: enough to recognise one's own devices, no more. Order
 * matters: Edge and Opera say Chrome, Chrome says Safari.
 */
export function describeUserAgent(ua: string): string {
  if (ua === '') return 'Unknown device';
  const browser =
    [
      [/Edg\//, 'Edge'],
      [/OPR\/|Opera/, 'Opera'],
      [/Firefox\//, 'Firefox'],
      [/HeadlessChrome\//, 'Headless Chrome'],
      [/Chrome\//, 'Chrome'],
      [/Safari\//, 'Safari'],
      [/^curl\//, 'curl'],
      [/^node$|undici/, 'Node.js'],
      [/python/i, 'Python'],
    ].find(([pattern]) => (pattern as RegExp).test(ua))?.[1] ?? null;
  const os =
    [
      [/Android/, 'Android'],
      [/iPhone|iPad|iPod/, 'iOS'],
      [/Windows/, 'Windows'],
      [/Mac OS X|Macintosh/, 'macOS'],
      [/CrOS/, 'ChromeOS'],
      [/Linux/, 'Linux'],
    ].find(([pattern]) => (pattern as RegExp).test(ua))?.[1] ?? null;
  if (browser && os) return `${browser} on ${os}`;
  return (browser as string | null) ?? (os as string | null) ?? ua.slice(0, 60);
}

export function sessionView(row: SessionRow, currentId: string | null): SessionView {
  return {
    id: row.id,
    domId: sessionDomId(row.id),
    device: describeUserAgent(row.user_agent),
    ip: row.ip || 'unknown address',
    created: timeView(row.created_at),
    lastSeen: timeView(row.last_seen_at),
    current: row.id === currentId,
  };
}

export function activityView(entry: ActivityEntry): ActivityView {
  return {
    domId: `activity-${entry.id}`,
    label: ACTIVITY_KINDS[entry.kind] ?? entry.kind,
    ip: entry.ip || 'unknown address',
    device: describeUserAgent(entry.user_agent),
    at: timeView(entry.created_at),
  };
}
