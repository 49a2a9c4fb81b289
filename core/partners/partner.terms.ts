import type { Level } from '../programme/rules.js';
import type { ProgrammeSettings } from '../programme/settings.schema.js';

/** A partner's terms as purchases read them (no dates, no names needed). */
export interface PartnerTerms {
  id: string;
  name: string;
  percentBp: number | null;
  levelPercentBp: Record<string, number>;
  redeemCapBp: number | null;
}

/** The terms one purchase runs on: recorded on its ledger entry, so a refund uses the same. */
export interface AppliedTerms {
  partnerId: string | null;
  percentBp: number;
  redeemCapBp: number;
}

/**
 * Rule (umbrella programme): a partner's store accrues at the partner's percent for the
 * member's level, else its percent for every level, else the level's own; and points pay at
 * most the partner's cap, else the programme's. A store without a partner runs the programme.
 */
export function termsFor(settings: ProgrammeSettings, level: Pick<Level, 'id' | 'percentBp'>, partner: PartnerTerms | null): AppliedTerms {
  if (!partner) return { partnerId: null, percentBp: level.percentBp, redeemCapBp: settings.redeemCapBp };
  return {
    partnerId: partner.id,
    percentBp: partner.levelPercentBp[level.id] ?? partner.percentBp ?? level.percentBp,
    redeemCapBp: partner.redeemCapBp ?? settings.redeemCapBp,
  };
}
