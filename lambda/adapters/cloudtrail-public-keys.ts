/**
 * CloudTrail's public keys through `ListPublicKeys`, cached.
 *
 * Key pairs are per Region: a digest is verified with a key of the Region it covers, so the keys are listed in that
 * Region (CloudTrail User Guide, "Custom implementations of CloudTrail log file integrity validation"). Keys never
 * change once published, so the cache keeps every key it has seen for the life of the process; a fingerprint it does
 * not know triggers one listing around the digest's time, and a fingerprint CloudTrail does not know either is not
 * asked for again before `negativeTtlMs`.
 */
import { CloudTrailClient, ListPublicKeysCommand, type PublicKey } from '@aws-sdk/client-cloudtrail';
import { PublicKeyRing } from '../core/digest';
import type { KeyNeed, PublicKeySource } from '../integrity/ports';

const DAY = 24 * 3_600_000;

export interface CloudTrailPublicKeysOptions {
  /**
   * Makes the client of a Region.
   * @default - a CloudTrailClient for that Region
   */
  readonly clientFor?: (region: string) => CloudTrailClient;
  /**
   * How long an unknown fingerprint is not looked up again.
   * @default 1 hour
   */
  readonly negativeTtlMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export class CloudTrailPublicKeys implements PublicKeySource {
  private readonly ring = new PublicKeyRing();
  private readonly clients = new Map<string, CloudTrailClient>();
  private readonly unknownUntil = new Map<string, number>();
  private readonly clientFor: (region: string) => CloudTrailClient;
  private readonly negativeTtlMs: number;
  private readonly now: () => number;
  /** ListPublicKeys calls made, for tests and metrics. */
  calls = 0;

  constructor(options: CloudTrailPublicKeysOptions = {}) {
    this.clientFor = options.clientFor ?? ((region) => new CloudTrailClient({ region }));
    this.negativeTtlMs = options.negativeTtlMs ?? 3_600_000;
    this.now = options.now ?? Date.now;
  }

  async ringFor(needs: readonly KeyNeed[]): Promise<PublicKeyRing> {
    const missing = needs.filter(
      (n) => !this.ring.get(n.fingerprint) && (this.unknownUntil.get(n.fingerprint.toLowerCase()) ?? 0) <= this.now(),
    );
    const byRegion = new Map<string, KeyNeed[]>();
    for (const need of missing) byRegion.set(need.region, [...(byRegion.get(need.region) ?? []), need]);
    for (const [region, regionNeeds] of byRegion) {
      const times = regionNeeds.map((n) => n.signedAt);
      await this.list(region, Math.min(...times) - DAY, Math.max(...times) + DAY);
      for (const need of regionNeeds) {
        if (!this.ring.get(need.fingerprint))
          this.unknownUntil.set(need.fingerprint.toLowerCase(), this.now() + this.negativeTtlMs);
      }
    }
    return this.ring;
  }

  private async list(region: string, from: number, to: number): Promise<void> {
    let client = this.clients.get(region);
    if (!client) {
      client = this.clientFor(region);
      this.clients.set(region, client);
    }
    let nextToken: string | undefined;
    do {
      this.calls++;
      const page = await client.send(
        new ListPublicKeysCommand({ StartTime: new Date(from), EndTime: new Date(to), NextToken: nextToken }),
      );
      this.ring.add((page.PublicKeyList ?? []) as PublicKey[], `ListPublicKeys ${region}`);
      nextToken = page.NextToken;
    } while (nextToken);
  }
}
