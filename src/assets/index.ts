/** Boot artifacts: the build manifest, the digest registry and verified external artifacts. */
export { ASSET_KINDS, type Asset, type AssetKind, assetName, loadManifest, sha256Hex } from './manifest.js';
export { type ByteRange, etagMatches, parseRange } from './range.js';
export { AssetRegistry, type Registration } from './registry.js';
export { AssetImporter, type AssetImporterDeps, type FetchSource, type ImportSource, storeVerified } from './store.js';
export { type AssetImportSettings, assetImportSettingsSchema } from './settings.js';
