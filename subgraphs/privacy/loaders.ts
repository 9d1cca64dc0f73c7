/**
 * Per-request DataLoaders. `User.privacySettings` and
 * `Shipment.recipientPrivacy` for N entities cost ONE `$in` query on
 * privacy_settings. The scope is baked in: a subject's settings stored by
 * another tenant are never found, so they resolve to the defaults exactly as
 * for a subject who never chose.
 */
import DataLoader from 'dataloader';
import type { DataScope } from '../../lib/context';
import type { PrivacyModels } from './model';
import { PrivacySettingsService, settingsView, type PrivacySettingsView } from './service';

export interface PrivacyLoaders {
  /** Settings by subject id; the defaults when the subject never chose (in scope). */
  settingsBySubject: DataLoader<string, PrivacySettingsView>;
}

/** Fresh loaders for one request; call once per request with that request's scope. */
export function createLoaders(models: PrivacyModels, scope: DataScope): PrivacyLoaders {
  const settings = new PrivacySettingsService(models);
  return {
    settingsBySubject: new DataLoader(async (subjectIds) => {
      const found = await settings.findBySubjects(scope, subjectIds);
      return subjectIds.map((id) => settingsView(id, found.get(id)));
    }),
  };
}
