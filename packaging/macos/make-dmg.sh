#!/usr/bin/env bash
# TOC.dmg from dist/TOC.app (built on macOS by `python3 packaging/build.py`): a disk image with
# TOC and a link to /Applications, to drag it across. Run on macOS from anywhere in the checkout:
#     packaging/macos/make-dmg.sh                # unsigned: for testing on this Mac
#
# Signing and notarisation (an Apple Developer ID; optional, and only when these are set):
#     TOC_CODESIGN_IDENTITY="Developer ID Application: Example Ltd (TEAMID1234)"
#         signs the app (hardened runtime, the entitlements below) and the disk image
#     TOC_NOTARY_PROFILE=toc-notary
#         notarises the signed image and staples the ticket; the profile is made once with
#         xcrun notarytool store-credentials toc-notary --apple-id ... --team-id ... --password ...
# Without them the image is unsigned: Gatekeeper refuses it on other Macs (right-click > Open).
set -euo pipefail

if [[ "$(uname -s)" != "Darwin" ]]; then
  echo "make-dmg.sh needs macOS (hdiutil, codesign)" >&2
  exit 1
fi
cd "$(dirname "$0")/../.."
APP=dist/TOC.app
DMG=dist/TOC.dmg
IDENTITY=${TOC_CODESIGN_IDENTITY:-}
NOTARY_PROFILE=${TOC_NOTARY_PROFILE:-}
NOTARY_TIMEOUT=${TOC_NOTARY_TIMEOUT:-30m}

if [[ ! -x "$APP/Contents/MacOS/TOC" ]]; then
  echo "$APP is missing: build it first with python3 packaging/build.py" >&2
  exit 1
fi
if [[ -n "$NOTARY_PROFILE" && -z "$IDENTITY" ]]; then
  echo "notarisation needs a signed app: set TOC_CODESIGN_IDENTITY too" >&2
  exit 1
fi

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT

if [[ -n "$IDENTITY" ]]; then
  # QtWebEngine (Chromium) needs JIT memory under the hardened runtime; calls and meetings
  # need the microphone and the camera (Info.plist says why: NSMicrophoneUsageDescription, ...).
  cat > "$STAGE/entitlements.plist" <<'PLIST'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>com.apple.security.cs.allow-jit</key><true/>
  <key>com.apple.security.cs.allow-unsigned-executable-memory</key><true/>
  <key>com.apple.security.cs.disable-library-validation</key><true/>
  <key>com.apple.security.device.audio-input</key><true/>
  <key>com.apple.security.device.camera</key><true/>
</dict>
</plist>
PLIST
  echo "== signing $APP as $IDENTITY"
  codesign --force --deep --timestamp --options runtime --entitlements "$STAGE/entitlements.plist" \
    --sign "$IDENTITY" "$APP"
  codesign --verify --deep --strict --verbose=2 "$APP"
fi

echo "== making $DMG"
mkdir "$STAGE/image"
cp -R "$APP" "$STAGE/image/"
ln -s /Applications "$STAGE/image/Applications"
rm -f "$DMG"
hdiutil create -volname TOC -srcfolder "$STAGE/image" -fs HFS+ -format UDZO -ov "$DMG"

if [[ -n "$IDENTITY" ]]; then
  codesign --force --timestamp --sign "$IDENTITY" "$DMG"
fi
if [[ -n "$NOTARY_PROFILE" ]]; then
  echo "== notarising $DMG (up to $NOTARY_TIMEOUT)"
  xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait --timeout "$NOTARY_TIMEOUT"
  xcrun stapler staple "$DMG"
  spctl --assess --type open --context context:primary-signature --verbose=2 "$DMG"
fi
echo "$PWD/$DMG"
