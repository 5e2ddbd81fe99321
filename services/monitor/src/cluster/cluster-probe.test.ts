import type { StreamInfo } from '@nats-io/jetstream';
import { replicasOf, streamProblems } from './cluster-probe';

const MS = 1e6; // nanoseconds per millisecond

function info(replicas: number, cluster: StreamInfo['cluster']): StreamInfo {
  return { config: { name: 'TRIB_RAW', num_replicas: replicas }, cluster } as unknown as StreamInfo;
}

describe('stream replicas from stream info', () => {
  it('count the leader and current followers as current: a healthy R3 stream has no problems', () => {
    const r = replicasOf(
      info(3, {
        name: 'c',
        leader: 'n1',
        replicas: [
          { name: 'n2', current: true, offline: false, active: 200 * MS, lag: 0 },
          { name: 'n3', current: true, offline: false, active: 300 * MS, lag: 0 },
        ],
      }),
    );
    expect(r).toMatchObject({ leader: 'n1', current: 3, lagging: 0, offline: 0 });
    expect(streamProblems(r)).toEqual([]);
  });

  it('call a follower silent for seconds offline, a recently heard one behind the leader lagging', () => {
    const r = replicasOf(
      info(3, {
        name: 'c',
        leader: 'n3',
        replicas: [
          { name: 'n1', current: false, offline: false, active: 1_000 * MS, lag: 12 },
          { name: 'n2', current: false, offline: false, active: 11_100 * MS, lag: 4 },
        ],
      }),
    );
    expect(r).toMatchObject({ current: 1, lagging: 1, offline: 1 });
    expect(streamProblems(r)).toEqual([
      'stream TRIB_RAW: replica n1 lagging 12 behind',
      'stream TRIB_RAW: replica n2 offline (silent 11.1 s)',
    ]);
  });

  it('flag an R3 stream without a leader or with followers the leader no longer lists, not an R1 stream', () => {
    expect(streamProblems(replicasOf(info(3, { name: 'c', replicas: [] })))).toContain('stream TRIB_RAW has no leader');
    expect(streamProblems(replicasOf(info(3, { name: 'c', leader: 'n1', replicas: [] })))).toEqual([
      'stream TRIB_RAW: 1 of 3 replicas known',
    ]);
    expect(streamProblems(replicasOf(info(1, undefined)))).toEqual([]);
  });

  it('put every stream of a server that is not clustered on that server, as one current copy', () => {
    expect(replicasOf(info(1, undefined), 'NB3X')).toMatchObject({ leader: 'NB3X', replicas: 1, current: 1, lagging: 0, offline: 0 });
  });
});
