/**
 * The detection rules on the local readers' threads (local-replay.ts, local-reader.ts). Compiled rules hold
 * functions, which cannot be sent to a thread: a thread loads the same rules again from the run's configuration,
 * checks it got the same ones (a rule file may have changed meanwhile), tests its files' events, and sends each
 * file's groups back in a portable form (`RuleEngine.portable`). The calling thread records the groups in its
 * ledger in file order, as one thread would: a group's alert belongs to the first file that records it.
 */
import { loadRules, RuleEngine, type RuleEngineStats, type RulesConfig } from '../core/rules';

/** What a thread needs to load the run's rules: its engine's configuration, and the ids of the rules it runs. */
export interface ThreadRules {
  readonly config: RulesConfig;
  readonly ids: readonly string[];
}

/** The counts a thread's engine keeps that the calling thread's engine adds up (`RuleEngine.addObserved`). */
export type ObservedCounts = Pick<RuleEngineStats, 'events' | 'hits' | 'suppressed'>;

/** The rules of `engine`, for threads. */
export function rulesForThreads(engine: RuleEngine): ThreadRules {
  return { config: engine.config, ids: engine.ruleIds() };
}

/** The run's rules, loaded on this thread; throws if they are not the same rules. */
export function ruleEngineOnThread({ config, ids }: ThreadRules): RuleEngine {
  const engine = new RuleEngine(loadRules(config).rules, config);
  const mine = engine.ruleIds();
  if (mine.length !== ids.length || mine.some((id, i) => id !== ids[i]))
    throw new Error('the rules read on a thread are not the ones this run loaded (a rule file changed?)');
  return engine;
}
