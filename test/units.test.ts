import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isValidTime, nextRun, parseDuration, parseSchedule } from '../src/config/units.ts';

describe('parseDuration', () => {
  const valid: [string | number, number][] = [
    ['500ms', 500],
    ['15s', 15_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1h 30m', 5_400_000],
    ['1.5s', 1_500],
    [' 2M ', 120_000],
    ['250', 250],
    [0, 0],
    [1234, 1234],
  ];
  for (const [input, ms] of valid) {
    test(`${JSON.stringify(input)} → ${ms} ms`, () => assert.equal(parseDuration(input), ms));
  }

  const invalid: (string | number)[] = ['', 'x', '5 minutes', '1m30', '-5s', '15 sec', -1, Number.NaN];
  for (const input of invalid) {
    test(`${JSON.stringify(input)} is rejected with an example`, () => {
      assert.throws(() => parseDuration(input), /is not a duration; use e\.g\. "500ms", "15s"/);
    });
  }
});

describe('parseSchedule', () => {
  const valid: [string, ReturnType<typeof parseSchedule>][] = [
    ['on-change', { kind: 'on-change' }],
    ['15s', { kind: 'interval', ms: 15_000 }],
    ['every 15s', { kind: 'interval', ms: 15_000 }],
    ['Every 1h30m', { kind: 'interval', ms: 5_400_000 }],
    ['*/5 * * * *', { kind: 'cron', expression: '*/5 * * * *' }],
    ['0 3 * * 1-5', { kind: 'cron', expression: '0 3 * * 1-5' }],
    ['*/10 * * * * *', { kind: 'cron', expression: '*/10 * * * * *' }],
    ['@hourly', { kind: 'cron', expression: '@hourly' }],
  ];
  for (const [input, expected] of valid) {
    test(`"${input}"`, () => assert.deepEqual(parseSchedule(input), expected));
  }

  const invalid: [string, string][] = [
    [
      'every 15 sec',
      '"every 15 sec" is not an interval; use e.g. "15s", "5m", "on-change" or a cron expression like "*/5 * * * *"',
    ],
    [
      '0s',
      '"0s" is a zero interval; use e.g. "15s", "5m", "on-change" or a cron expression like "*/5 * * * *"',
    ],
    [
      '1 2 3 4 5 6 7',
      '"1 2 3 4 5 6 7" has 7 fields; a cron expression has 5 (minute first) or 6 (second first)',
    ],
  ];
  for (const [input, message] of invalid) {
    test(`"${input}" is rejected`, () => assert.throws(() => parseSchedule(input), { message }));
  }
  test('an out-of-range cron field is rejected, naming the expression', () => {
    assert.throws(
      () => parseSchedule('61 * * * *'),
      /^Error: "61 \* \* \* \*" is not a valid cron expression \(.*61/,
    );
  });
});

describe('nextRun', () => {
  const at = Date.UTC(2024, 0, 1, 10, 0, 0); // Monday

  test('on-change runs at once, interval adds its length', () => {
    assert.equal(nextRun({ kind: 'on-change' }, at), at);
    assert.equal(nextRun({ kind: 'interval', ms: 15_000 }, at), at + 15_000);
  });

  const cron: [string, number, string, string][] = [
    ['*/5 * * * *', at, 'UTC', '2024-01-01T10:05:00.000Z'],
    ['*/5 * * * *', at + 500, 'UTC', '2024-01-01T10:05:00.000Z'],
    ['*/5 * * * *', at - 1, 'UTC', '2024-01-01T10:00:00.000Z'],
    ['* * * * * *', at, 'UTC', '2024-01-01T10:00:01.000Z'],
    ['* * * * * *', at + 999, 'UTC', '2024-01-01T10:00:01.000Z'],
    ['0 3 * * *', at, 'UTC', '2024-01-02T03:00:00.000Z'],
    // 03:00 in Moscow (UTC+3) is midnight UTC.
    ['0 3 * * *', at, 'Europe/Moscow', '2024-01-02T00:00:00.000Z'],
    ['0 9 * * 1-5', Date.UTC(2024, 0, 5, 12), 'UTC', '2024-01-08T09:00:00.000Z'],
  ];
  for (const [expression, after, zone, expected] of cron) {
    test(`"${expression}" after ${new Date(after).toISOString()} in ${zone}`, () => {
      const next = nextRun({ kind: 'cron', expression }, after, zone);
      assert.equal(new Date(next).toISOString(), expected);
      assert.ok(next > after, 'strictly after');
    });
  }
});

describe('isValidTime', () => {
  for (const ok of ['00:00', '09:00', '23:59', '12:30'])
    test(`"${ok}" is a time`, () => assert.ok(isValidTime(ok)));
  for (const bad of ['9:00', '24:00', '12:60', '12:5', '', '12-30', ' 09:00']) {
    test(`"${bad}" is not a time`, () => assert.equal(isValidTime(bad), false));
  }
});
