/**
 * The detection rules on the local readers' threads (local-replay.ts, local-reader.ts). Compiled rules hold
 * functions, which cannot be sent to a thread: a thread loads the rules again from the run's configuration, checks
 * by the digest of the rule files that it read the same ones (a rule file may have changed meanwhile), tests its
 * files' events, and sends each file's groups back in a portable form (`RuleEngine.portable`). The calling thread
 * records the groups in its ledger in file order, as one thread would: a group's alert belongs to the first file
 * that records it.
 */
import { loadRules, RuleEngine, type RulesConfig } from '../core/rules';

/** What a thread needs to load the run's rules: the configuration, and the digest of the rule files the run read. */
export interface ThreadRules {
  readonly config: RulesConfig;
  /** `LoadedRules.digest` of the run's load. */
  readonly digest: string;
}

/** The run's rules, loaded on this thread; throws if the rule files are not the ones the run read. */
export function ruleEngineOnThread({ config, digest }: ThreadRules): RuleEngine {
  const loaded = loadRules(config);
  if (loaded.digest !== digest)
    throw new Error('the rules read on a thread are not the ones this run loaded (a rule file changed?)');
  return new RuleEngine(loaded.rules, config);
}
