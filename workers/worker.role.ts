import type { Runtime } from '../infra/runtime.js';
import type { RoleHandle } from '../api/api.role.js';

/** The `worker` role: BullMQ processors. Each feature adds its processors here. */
export async function startWorkers(rt: Runtime): Promise<RoleHandle> {
  const processors: { close(): Promise<void> }[] = [];
  return {
    summary: [`Workers: ${processors.length} queue processor(s), queue prefix "${rt.config.queuePrefix}"`],
    async close() {
      await Promise.allSettled(processors.map((p) => p.close()));
    },
  };
}
