#!/usr/bin/env bash
# TOC.dmg from dist/TOC.app (built on macOS by `python3 packaging/build.py`): a disk image with
# TOC and a link to /Applications, to drag it across. Run on macOS from anywhere in the checkout:
#     packaging/macos/make-dmg.sh                # unsigned: for testing on this Mac
#
# Signing and notarisation (an Apple Developer ID; optional, and only when these are set):
#     TOC_CODESIGN_IDENTITY="Developer ID Application: Example Ltd (TEAMID1234)"
#         set for the build too: PyInstaller signs TOC.app there, every nested binary one by one
#         (hardened runtime, packaging/macos/entitlements.plist or TOC_ENTITLEMENTS; see
#         packaging/toc-desktop.spec), including code outside the places `codesign --deep`
#         looks. This script does not sign the app again (no `codesign --deep` here): it checks
#         the app's signature, then signs only the disk image.
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
  # Signed by PyInstaller at build time (packaging/toc-desktop.spec): only check it here. An app
  # built without TOC_CODESIGN_IDENTITY is signed ad hoc, which notarisation refuses.
  echo "== checking the signature of $APP"
  codesign --verify --deep --strict --verbose=2 "$APP"
  details=$(codesign --display --verbose=2 "$APP" 2>&1)
  if [[ "$details" == *"Signature=adhoc"* ]]; then
    echo "$APP is signed ad hoc: build it with TOC_CODESIGN_IDENTITY set (python3 packaging/build.py)" >&2
    exit 1
  fi
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
