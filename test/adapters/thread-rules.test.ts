/**
 * A thread loads the run's rules again (compiled rules cannot be sent): it must refuse rules that are not the ones
 * the run read, even when only a rule's body changed and its id did not.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ruleEngineOnThread } from '../../lambda/adapters/thread-rules';
import { loadRules, resolveRulesConfig } from '../../lambda/core/rules';

const rule = (eventName: string) =>
  `title: Watched call\nid: 6d1c2f0e-watched-call\nlevel: high\nlogsource:\n    product: aws\n    service: cloudtrail\n` +
  `detection:\n    selection:\n        eventName: ${eventName}\n    condition: selection\n`;

test('a thread loads the same rules, and refuses a rule file edited since the run read it', () => {
  const folder = mkdtempSync(join(tmpdir(), 'trailsight-thread-rules-'));
  writeFileSync(join(folder, 'watched.yml'), rule('RevokeSecurityGroupIngress'));
  const config = resolveRulesConfig({ builtin: false, folders: [folder] });
  const loaded = loadRules(config);
  expect(loaded.rules.map((r) => r.ref.id)).toEqual(['6d1c2f0e-watched-call']);

  const engine = ruleEngineOnThread({ config, digest: loaded.digest });
  expect(engine.ruleSet.rules.map((r) => r.ref.id)).toEqual(['6d1c2f0e-watched-call']);

  // The same id, another detection: a thread must not test the run's events with it.
  writeFileSync(join(folder, 'watched.yml'), rule('AuthorizeSecurityGroupIngress'));
  expect(() => ruleEngineOnThread({ config, digest: loaded.digest })).toThrow(/not the ones this run loaded/);
});
