import type { ProgrammeSettings } from '../programme/settings.schema.js';
import type { SegmentService } from '../segments/segment.service.js';
import type { Clock } from '../shared/clock.js';
import { audiencePages } from './broadcast.audience.js';
import { createAutomations } from './broadcast.automations.js';
import { createPlanner } from './broadcast.plan.js';
import type { BroadcastRepository } from './broadcast.repository.js';
import { createBroadcastService } from './broadcast.service.js';
import type { DeliveryRepository } from './delivery.repository.js';
import type { RecipientRepository } from './recipient.repository.js';

/** Broadcasts wired on a connection: the service (core.broadcasts) and its automations. */
export function createBroadcasts(deps: {
  repos: { broadcasts: BroadcastRepository; deliveries: DeliveryRepository; recipients: RecipientRepository };
  segments: SegmentService; settings: () => Promise<ProgrammeSettings>; clock: Clock; timeZone: string }) {
  const { broadcasts: repo, deliveries, recipients } = deps.repos;
  const pager = audiencePages({ recipients, segments: deps.segments });
  const planner = createPlanner({ repo, deliveries, recipients, pager, clock: deps.clock });
  const service = createBroadcastService({
    repo,
    deliveries,
    recipients,
    planner,
    settings: deps.settings,
    segmentExists: async (id) => {
      try {
        await deps.segments.get(id);
        return true;
      } catch {
        return false;
      }
    },
    clock: deps.clock,
    timeZone: deps.timeZone,
  });
  const automations = createAutomations({ broadcasts: service, recipients, settings: deps.settings, clock: deps.clock, timeZone: deps.timeZone });
  return Object.assign(service, { automations });
}
