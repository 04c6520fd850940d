/**
 * A Security Hub CSPM stand-in on 127.0.0.1 for BatchImportFindings only (there is no maintained one): enough of
 * the documented behaviour to test the adapter and the handler through the real SDK client, its serializer,
 * its HTTP stack and its retries.
 *
 * Behaviour modelled (AWS Security Hub User Guide, "BatchImportFindings for finding providers"):
 * - `POST /findings/import` with `{ Findings: [...] }` (at most 100) answers `{ SuccessCount, FailedCount,
 *   FailedFindings: [{ Id, ErrorCode, ErrorMessage }] }`;
 * - a finding must be a valid ASFF record (the test schema) and its `AwsAccountId` the product ARN's account
 *   (`InvalidInput` / `InvalidAccess` otherwise);
 * - one finding per `ProductArn` + `Id`: a newer `UpdatedAt` replaces it, keeping the stored `Workflow` (a
 *   provider cannot change it after creation); an older or equal one changes nothing;
 * - scripted refusals (`refuse(id, code, times)`) and throttling (`throttle(times)`) for the failure paths.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AsffFinding } from '../../lambda/core/findings/asff';
import { asffFindingSchema } from './asff-schema';

export class SecurityHubStandIn {
  /** Stored findings by `ProductArn|Id`. */
  readonly findings = new Map<string, AsffFinding>();
  /** Every request body received. */
  readonly requests: { Findings: AsffFinding[] }[] = [];
  private readonly refusals = new Map<string, { code: string; times: number }>();
  private throttled = 0;
  private server?: Server;

  /** Refuses the finding with this id `times` times with `code`. */
  refuse(id: string, code: string, times = Number.POSITIVE_INFINITY): void {
    this.refusals.set(id, { code, times });
  }

  /** Answers the next `times` requests with HTTP 429 ThrottlingException. */
  throttle(times: number): void {
    this.throttled = times;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: Error) => {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: e.message }));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (req.method !== 'POST' || req.url !== '/findings/import') {
      json(404, { message: `no route ${req.method} ${req.url}` });
      return;
    }
    if (this.throttled > 0) {
      this.throttled--;
      json(429, { message: 'Rate exceeded' }, { 'x-amzn-errortype': 'ThrottlingException' });
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Findings: AsffFinding[] };
    this.requests.push(body);
    if (body.Findings.length > 100) {
      json(400, { message: 'at most 100 findings' }, { 'x-amzn-errortype': 'InvalidInputException' });
      return;
    }
    const failed: { Id: string; ErrorCode: string; ErrorMessage: string }[] = [];
    for (const f of body.Findings) {
      const refusal = this.refusals.get(f.Id);
      if (refusal && refusal.times > 0) {
        refusal.times--;
        failed.push({ Id: f.Id, ErrorCode: refusal.code, ErrorMessage: 'scripted refusal' });
        continue;
      }
      const parsed = asffFindingSchema.safeParse(f);
      if (!parsed.success) {
        failed.push({ Id: f.Id, ErrorCode: 'InvalidInput', ErrorMessage: parsed.error.issues[0]?.message ?? '' });
        continue;
      }
      const productAccount = /:product\/(\d{12})\/default$/.exec(f.ProductArn)?.[1];
      if (productAccount !== f.AwsAccountId) {
        failed.push({ Id: f.Id, ErrorCode: 'InvalidAccess', ErrorMessage: 'AwsAccountId is not the caller' });
        continue;
      }
      const key = `${f.ProductArn}|${f.Id}`;
      const stored = this.findings.get(key);
      if (!stored) this.findings.set(key, f);
      else if (Date.parse(f.UpdatedAt) > Date.parse(stored.UpdatedAt)) {
        this.findings.set(key, { ...f, Workflow: stored.Workflow });
      }
    }
    json(200, {
      SuccessCount: body.Findings.length - failed.length,
      FailedCount: failed.length,
      FailedFindings: failed,
    });
  }
}
