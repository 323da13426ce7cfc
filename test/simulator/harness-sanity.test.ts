/**
 * A harness that cannot see a broken system is broken itself (docs/testing.md). Each deliberately broken
 * behaviour below must make the simulator report violations, over several seeds:
 *
 * - `unsafe.ackBeforeDurable`: receivers ack a batch before it is durable — the ack oracle (I3)
 *   must fire;
 * - `unsafe.noDedupe` with ≥ 3 peers in a mesh: content already held is written and relayed again,
 *   bouncing between peers forever — the bounds oracle (relayed records outgrowing all content
 *   ever written) or the liveness oracle must fire;
 * - `durability: 'none'` with crashes: writes are acknowledged before they reach the disk, and
 *   power loss takes them — the lost-write oracle (I1) must fire.
 *
 * The network is reliable here so that nothing but the broken behaviour can cause a violation.
 */
import { describe, expect, it } from 'vitest'
import { simulate, type SimulationReport } from '../../src/testing/index.js'
import { TIMEOUT, seedsOf } from './support.js'

const FILE = seedsOf(import.meta.url)
const SEEDS = 8

async function runs(
  batch: number,
  make: (seed: number, i: number) => Parameters<typeof simulate>[0],
): Promise<SimulationReport[]> {
  const reports: SimulationReport[] = []
  for (let i = 0; i < SEEDS; i++) {
    const { seed } = FILE.run(batch, i, 0)
    reports.push(await simulate(make(seed, i)))
  }
  return reports
}

function caught(reports: SimulationReport[], kinds: string[]): SimulationReport[] {
  return reports.filter((r) => r.violations.some((v) => kinds.some((k) => v.startsWith(`${k}:`))))
}

function missed(reports: SimulationReport[], kinds: string[]): string {
  const seeds = reports.filter((r) => !caught([r], kinds).length).map((r) => r.repro)
  return `not caught:\n${seeds.join('\n')}\n${FILE.repro}`
}

describe('harness sanity: broken behaviours are caught', () => {
  it('acks before durability (unsafe.ackBeforeDurable)', TIMEOUT, async () => {
    const reports = await runs(1, (seed, i) => ({
      seed,
      peers: 2 + (i % 4),
      steps: 30,
      faults: false,
      unsafe: { ackBeforeDurable: true },
    }))
    const hits = caught(reports, ['ack-before-durable'])
    console.info(`harness sanity: ackBeforeDurable caught in ${hits.length} of ${reports.length}`)
    expect(hits.length, missed(reports, ['ack-before-durable'])).toBe(reports.length)
  })

  it('relay loops without dedupe (unsafe.noDedupe, mesh of 3+)', TIMEOUT, async () => {
    const reports = await runs(2, (seed, i) => ({
      seed,
      peers: 3 + (i % 4),
      steps: 30,
      topology: 'mesh',
      faults: false,
      unsafe: { noDedupe: true },
    }))
    const hits = caught(reports, ['bounds', 'liveness'])
    console.info(`harness sanity: noDedupe caught in ${hits.length} of ${reports.length}`)
    expect(hits.length, missed(reports, ['bounds', 'liveness'])).toBe(reports.length)
  })

  it('acknowledged writes lost to power loss without fsync', TIMEOUT, async () => {
    const reports = await runs(3, (seed, i) => ({
      seed,
      peers: 2 + (i % 3),
      steps: 80,
      faults: { loss: 0, duplicate: 0, reorder: 0, partitions: 0, clockSkew: 0, crashes: 0.15 },
      store: { durability: 'none', checkpointRecords: 1_000 },
    }))
    const hits = caught(reports, ['lost-write'])
    console.info(`harness sanity: lost writes seen in ${hits.length} of ${reports.length}`)
    expect(hits.length, missed(reports, ['lost-write'])).toBeGreaterThan(0)
  })
})
