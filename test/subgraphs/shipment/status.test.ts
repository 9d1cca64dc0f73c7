import {
  EXCEPTIONAL_STATUSES,
  FINAL_STATUSES,
  SHIPMENT_STATUSES,
  decide,
  initialState,
  isShipmentStatus,
  rankOf,
  replay,
  type ShipmentStatus,
  type StatusState,
} from '../../../subgraphs/shipment/status';

const T0 = new Date('2025-03-01T10:00:00Z').getTime();
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const state = (status: ShipmentStatus, progressRank = rankOf(status) ?? 0, lastAppliedAt: Date | null = at(0)): StatusState => ({ status, progressRank, lastAppliedAt });
const NON_FINAL = SHIPMENT_STATUSES.filter((s) => !FINAL_STATUSES.has(s));
const NORMAL = SHIPMENT_STATUSES.filter((s) => !EXCEPTIONAL_STATUSES.has(s));

describe('status ranks', () => {
  test('order the normal statuses PENDING < LABEL_CREATED < IN_TRANSIT < last mile < DELIVERED', () => {
    expect(['PENDING', 'LABEL_CREATED', 'IN_TRANSIT', 'OUT_FOR_DELIVERY', 'DELIVERED'].map((s) => rankOf(s as ShipmentStatus))).toEqual([0, 1, 2, 3, 4]);
  });

  test('put OUT_FOR_DELIVERY, AVAILABLE_FOR_PICKUP and ATTEMPT_FAILED on the same rank', () => {
    expect(new Set(['OUT_FOR_DELIVERY', 'AVAILABLE_FOR_PICKUP', 'ATTEMPT_FAILED'].map((s) => rankOf(s as ShipmentStatus)))).toEqual(new Set([3]));
  });

  test('give the exceptional statuses no rank', () => {
    for (const s of EXCEPTIONAL_STATUSES) expect(rankOf(s)).toBeUndefined();
  });

  test('recognise exactly the ten unified statuses', () => {
    expect(SHIPMENT_STATUSES).toHaveLength(10);
    expect(isShipmentStatus('IN_TRANSIT')).toBe(true);
    expect(isShipmentStatus('in_transit')).toBe(false);
    expect(isShipmentStatus(3)).toBe(false);
  });

  test('a new shipment starts PENDING at rank 0 with no applied event', () => {
    expect(initialState()).toEqual({ status: 'PENDING', progressRank: 0, lastAppliedAt: null });
  });
});

describe('moving forward', () => {
  test.each([
    ['PENDING', 'LABEL_CREATED'],
    ['LABEL_CREATED', 'IN_TRANSIT'],
    ['IN_TRANSIT', 'OUT_FOR_DELIVERY'],
    ['IN_TRANSIT', 'AVAILABLE_FOR_PICKUP'],
    ['IN_TRANSIT', 'ATTEMPT_FAILED'],
    ['OUT_FOR_DELIVERY', 'DELIVERED'],
    ['AVAILABLE_FOR_PICKUP', 'DELIVERED'],
    ['ATTEMPT_FAILED', 'DELIVERED'],
  ] as Array<[ShipmentStatus, ShipmentStatus]>)('%s → %s applies and records the new rank and time', (from, to) => {
    const d = decide(state(from), { status: to, occurredAt: at(5) });
    expect(d).toEqual({ applied: true, next: { status: to, progressRank: rankOf(to), lastAppliedAt: at(5) } });
  });

  test('skipping ranks is allowed (carriers miss scans): LABEL_CREATED → DELIVERED', () => {
    expect(decide(state('LABEL_CREATED'), { status: 'DELIVERED', occurredAt: at(1) })).toMatchObject({ applied: true, next: { status: 'DELIVERED' } });
  });

  test('the first event of a new shipment applies whatever its time', () => {
    expect(decide(initialState(), { status: 'IN_TRANSIT', occurredAt: new Date(0) })).toMatchObject({ applied: true, next: { status: 'IN_TRANSIT' } });
  });

  test('a repeat of the current status applies (it refreshes the detail and time)', () => {
    expect(decide(state('IN_TRANSIT'), { status: 'IN_TRANSIT', occurredAt: at(9) })).toEqual({
      applied: true,
      next: { status: 'IN_TRANSIT', progressRank: 2, lastAppliedAt: at(9) },
    });
  });

  test('moves within the last-mile rank apply: a failed attempt, a second attempt, a pickup point', () => {
    const { state: s, applied } = replay(
      [
        { status: 'OUT_FOR_DELIVERY', occurredAt: at(1) },
        { status: 'ATTEMPT_FAILED', occurredAt: at(2) },
        { status: 'OUT_FOR_DELIVERY', occurredAt: at(3) },
        { status: 'AVAILABLE_FOR_PICKUP', occurredAt: at(4) },
        { status: 'DELIVERED', occurredAt: at(5) },
      ],
      state('IN_TRANSIT'),
    );
    expect(applied).toEqual([true, true, true, true, true]);
    expect(s.status).toBe('DELIVERED');
  });
});

describe('never moving backwards', () => {
  test.each([
    ['LABEL_CREATED', 'PENDING'],
    ['IN_TRANSIT', 'LABEL_CREATED'],
    ['IN_TRANSIT', 'PENDING'],
    ['OUT_FOR_DELIVERY', 'IN_TRANSIT'],
    ['ATTEMPT_FAILED', 'IN_TRANSIT'],
    ['AVAILABLE_FOR_PICKUP', 'LABEL_CREATED'],
  ] as Array<[ShipmentStatus, ShipmentStatus]>)('%s → %s is refused as BACKWARD, even when newer', (from, to) => {
    expect(decide(state(from), { status: to, occurredAt: at(60) })).toEqual({ applied: false, reason: 'BACKWARD' });
  });

  test('an event older than the latest applied one is refused as LATE, even a forward one', () => {
    expect(decide(state('IN_TRANSIT', 2, at(10)), { status: 'DELIVERED', occurredAt: at(9) })).toEqual({ applied: false, reason: 'LATE' });
  });

  test('an older exceptional event is LATE too', () => {
    for (const s of EXCEPTIONAL_STATUSES) expect(decide(state('IN_TRANSIT', 2, at(10)), { status: s, occurredAt: at(9) })).toEqual({ applied: false, reason: 'LATE' });
  });

  test('an event at exactly the latest applied time is not late', () => {
    expect(decide(state('IN_TRANSIT', 2, at(10)), { status: 'OUT_FOR_DELIVERY', occurredAt: at(10) })).toMatchObject({ applied: true });
  });

  test('a late event after delivery is reported LATE (lateness is checked first)', () => {
    expect(decide(state('DELIVERED', 4, at(10)), { status: 'IN_TRANSIT', occurredAt: at(1) })).toEqual({ applied: false, reason: 'LATE' });
  });
});

describe('explicit exceptions', () => {
  for (const from of NON_FINAL) {
    for (const to of EXCEPTIONAL_STATUSES) {
      test(`${to} applies from ${from} and keeps the furthest rank reached`, () => {
        const rank = rankOf(from) ?? 2;
        const d = decide(state(from, rank), { status: to, occurredAt: at(1) });
        expect(d).toEqual({ applied: true, next: { status: to, progressRank: rank, lastAppliedAt: at(1) } });
      });
    }
  }

  test('leaving EXCEPTION resumes at or beyond the rank reached before it, never behind it', () => {
    const inException = state('EXCEPTION', 3);
    expect(decide(inException, { status: 'IN_TRANSIT', occurredAt: at(1) })).toEqual({ applied: false, reason: 'BACKWARD' });
    expect(decide(inException, { status: 'ATTEMPT_FAILED', occurredAt: at(1) })).toMatchObject({ applied: true, next: { status: 'ATTEMPT_FAILED', progressRank: 3 } });
    expect(decide(inException, { status: 'DELIVERED', occurredAt: at(1) })).toMatchObject({ applied: true, next: { status: 'DELIVERED', progressRank: 4 } });
  });

  test('a customs hold released: IN_TRANSIT → EXCEPTION → IN_TRANSIT → DELIVERED', () => {
    const { state: s, applied } = replay([
      { status: 'LABEL_CREATED', occurredAt: at(0) },
      { status: 'IN_TRANSIT', occurredAt: at(1) },
      { status: 'EXCEPTION', occurredAt: at(2) },
      { status: 'IN_TRANSIT', occurredAt: at(3) },
      { status: 'DELIVERED', occurredAt: at(4) },
    ]);
    expect(applied).toEqual([true, true, true, true, true]);
    expect(s).toEqual({ status: 'DELIVERED', progressRank: 4, lastAppliedAt: at(4) });
  });

  test('EXCEPTION may follow EXCEPTION and RETURN_TO_SENDER (it is not final)', () => {
    expect(decide(state('EXCEPTION', 2), { status: 'EXCEPTION', occurredAt: at(1) })).toMatchObject({ applied: true });
    expect(decide(state('RETURN_TO_SENDER', 3), { status: 'EXCEPTION', occurredAt: at(1) })).toMatchObject({ applied: true });
  });
});

describe('final statuses', () => {
  test('DELIVERED refuses every status but RETURN_TO_SENDER', () => {
    for (const to of SHIPMENT_STATUSES) {
      const d = decide(state('DELIVERED'), { status: to, occurredAt: at(1) });
      if (to === 'RETURN_TO_SENDER') expect(d).toEqual({ applied: true, next: { status: 'RETURN_TO_SENDER', progressRank: 4, lastAppliedAt: at(1) } });
      else expect(d).toEqual({ applied: false, reason: 'FINAL' });
    }
  });

  test('CANCELLED refuses every status, RETURN_TO_SENDER included', () => {
    for (const to of SHIPMENT_STATUSES) expect(decide(state('CANCELLED', 1), { status: to, occurredAt: at(1) })).toEqual({ applied: false, reason: 'FINAL' });
  });

  test('after a return from delivery, only a new delivery (back at the sender) or an exception moves it', () => {
    const returned = state('RETURN_TO_SENDER', 4);
    expect(decide(returned, { status: 'IN_TRANSIT', occurredAt: at(1) })).toEqual({ applied: false, reason: 'BACKWARD' });
    expect(decide(returned, { status: 'OUT_FOR_DELIVERY', occurredAt: at(1) })).toEqual({ applied: false, reason: 'BACKWARD' });
    expect(decide(returned, { status: 'DELIVERED', occurredAt: at(1) })).toMatchObject({ applied: true, next: { status: 'DELIVERED' } });
    expect(decide(returned, { status: 'EXCEPTION', occurredAt: at(1) })).toMatchObject({ applied: true });
  });
});

describe('replaying events in arrival order', () => {
  test('a scan that arrives after delivery but happened before it is kept out of the status', () => {
    const { state: s, applied } = replay([
      { status: 'LABEL_CREATED', occurredAt: at(0) },
      { status: 'IN_TRANSIT', occurredAt: at(10) },
      { status: 'DELIVERED', occurredAt: at(30) },
      { status: 'OUT_FOR_DELIVERY', occurredAt: at(20) },
    ]);
    expect(applied).toEqual([true, true, true, false]);
    expect(s).toEqual({ status: 'DELIVERED', progressRank: 4, lastAppliedAt: at(30) });
  });

  test('a newer but backward event does not block an older one that still moves forward', () => {
    const { state: s, applied } = replay([
      { status: 'OUT_FOR_DELIVERY', occurredAt: at(10) },
      { status: 'IN_TRANSIT', occurredAt: at(30) },
      { status: 'ATTEMPT_FAILED', occurredAt: at(20) },
    ]);
    expect(applied).toEqual([true, false, true]);
    expect(s.status).toBe('ATTEMPT_FAILED');
  });

  // Property check over pseudo-random streams (fixed seed: reproducible).
  test('in any event stream: the furthest rank never drops, applied times never go back, final states only leave for RETURN_TO_SENDER', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let run = 0; run < 300; run++) {
      let s = initialState();
      for (let i = 0; i < 12; i++) {
        const event = { status: SHIPMENT_STATUSES[rand(SHIPMENT_STATUSES.length)], occurredAt: at(rand(100)) };
        const d = decide(s, event);
        if (!d.applied) continue;
        const n = d.next;
        expect(n.progressRank).toBeGreaterThanOrEqual(s.progressRank);
        if (s.lastAppliedAt) expect(n.lastAppliedAt!.getTime()).toBeGreaterThanOrEqual(s.lastAppliedAt.getTime());
        if (FINAL_STATUSES.has(s.status)) expect([s.status, n.status]).toEqual(['DELIVERED', 'RETURN_TO_SENDER']);
        if (NORMAL.includes(n.status)) expect(rankOf(n.status)).toBe(n.progressRank);
        s = n;
      }
    }
  });
});
