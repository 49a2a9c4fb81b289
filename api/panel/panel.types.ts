import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Action } from '../../core/access/access.policy.js';
import type { PanelConfig } from '../../core/config.js';
import type { Core } from '../../core/core.js';
import type { I18n } from '../../core/i18n/i18n.js';
import type { InsightJobs } from '../../core/insight/insight.jobs.js';
import type { ThrottlePolicy } from '../../core/users/login-throttle.js';
import type { Wallet } from '../../core/wallet/wallet.service.js';
import type { Redis } from '../../infra/redis.js';
import type { Renderer } from './panel.context.js';

export interface PanelOptions {
  i18n: I18n;
  config: PanelConfig;
  /** PUBLIC_URL: an https one makes the cookies Secure in auto mode. */
  publicUrl?: string | undefined;
  throttle?: ThrottlePolicy;
  /** Prefix of the sign-in throttle's Redis keys. */
  redisPrefix?: string;
}

export interface PanelDeps extends PanelOptions {
  core: Core;
  wallet?: Wallet | undefined;
  insightJobs?: InsightJobs | undefined;
  importMaxBytes: number;
  redis?: Redis | undefined;
}

/** What every page module receives. */
export interface PanelContext extends PanelDeps {
  render: Renderer;
  /** preHandler: signed in, and allowed `action` by the access policy (a refusal is audited). */
  guard(action: Action | null): (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Records a change in the audit log as the signed-in user. */
  audit(req: FastifyRequest, entry: { action: string; target?: string | null; before?: unknown; after?: unknown }): Promise<void>;
}

