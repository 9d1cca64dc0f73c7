/**
 * `revealUser`: the audited reveal of a user's email address and name,
 * which everyone but the user themself sees masked (lib/pii/masking.ts).
 * The capability check, the reason, the audit record and the mark are
 * lib/reveal.ts's; this file loads the user in the caller's tenant (another
 * tenant's is NOT_FOUND, as an unknown id).
 */
import { authorizeReveal, recordReveal, revealReason, revealedRecord, type RevealReceipt } from '../../lib/reveal';
import { UserNotFoundError } from './errors';
import type { IdentityContext } from './resolvers';
import type { User } from './service';

export type UserReveal = Omit<RevealReceipt, 'sensitive'> & { user: User };

/**
 * @throws RevealNotPermittedError (FORBIDDEN) without the capability
 * @throws InvalidInputError (BAD_USER_INPUT) for an empty reason
 * @throws UserNotFoundError (NOT_FOUND) outside the caller's tenant
 * @throws whatever the audit sink throws: nothing is revealed then
 */
export async function revealUser(ctx: IdentityContext, args: { id: string; reason: string }, now: () => Date = () => new Date()): Promise<UserReveal> {
  const grant = authorizeReveal(ctx.principal, 'user', false);
  const reason = revealReason(args.reason);
  const user = await ctx.loaders.userById.load(args.id);
  if (!user) throw new UserNotFoundError();
  const { sensitive: _sensitive, ...receipt } = await recordReveal(ctx, grant, `User:${user.id}`, reason, now());
  return { ...receipt, user: revealedRecord(user, grant)! };
}
