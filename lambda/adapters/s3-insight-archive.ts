/**
 * Writes insights to the archive bucket, one JSON object per insight, partitioned like the CloudTrail table
 * (`<prefix><account>/<region>/<yyyy>/<MM>/<dd>/<eventID>.json`, date of the insight's eventTime), so a Glue
 * table with partition projection can read them and auditors query insights in Athena.
 *
 * The key is the insight's deterministic eventID: writing the same insight twice (an at-least-once
 * redelivery) overwrites the same key with the same bytes.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { InsightEvent } from '../core/detect';
import type { InsightArchive } from '../pipeline/ports';

export interface S3InsightArchiveOptions {
  readonly bucket: string;
  /** @default 'trailsight/insights/' */
  readonly prefix?: string;
}

/** The object key of an insight. */
export function insightKey(insight: InsightEvent, prefix = 'trailsight/insights/'): string {
  const day = insight.eventTime.slice(0, 10).replace(/-/g, '/');
  return `${prefix}${insight.recipientAccountId}/${insight.awsRegion}/${day}/${insight.eventID}.json`;
}

export class S3InsightArchive implements InsightArchive {
  constructor(
    private readonly client: S3Client,
    private readonly options: S3InsightArchiveOptions,
  ) {}

  async write(insights: readonly InsightEvent[]): Promise<void> {
    await Promise.all(
      insights.map((insight) =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.options.bucket,
            Key: insightKey(insight, this.options.prefix),
            // One JSON document per line: what the Athena JSON SerDe reads.
            Body: Buffer.from(`${JSON.stringify(insight)}\n`, 'utf8'),
            ContentType: 'application/json',
          }),
        ),
      ),
    );
  }
}
