; TOC desktop app: a per-user Windows installer (Inno Setup 6) for dist\TOC, the PyInstaller
; onedir build of packaging\build.py. No administrator rights: TOC goes to the user's own
; programs folder (%LOCALAPPDATA%\Programs\TOC); its data stays in %LOCALAPPDATA%\TOC.
;
; On Windows, from the repository's root, after `python packaging\build.py`:
;     iscc /DAppVersion=0.1.0 packaging\windows\toc.iss
; Output: dist\TOC-Setup-<version>.exe (sign it with signtool before publishing; see
; docs\desktop-packaging.md). The version is pyproject.toml's; 0.1.0 when none is given.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "TOC"
#define AppExe "TOC.exe"
#define Root AddBackslash(SourcePath) + "..\.."

[Setup]
; The AppId identifies TOC for upgrades and the uninstaller: never change it.
AppId={{2D92BA2A-8096-466C-AF6D-5D2B9906E536}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=TOPS
AppComments=Your company's phone, chat and SMS
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
DisableDirPage=auto
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Root}\dist
OutputBaseFilename=TOC-Setup-{#AppVersion}
SetupIconFile={#Root}\build\desktop\toc.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; TOC keeps running in the tray: close it (Restart Manager) before files are replaced.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Root}\dist\TOC\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the whole bundle: no file of an older version stays behind.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; "Start at login" (the tray menu) writes this value; uninstalling removes it (never creates it).
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: none; ValueName: "TOC"; \
  Flags: uninsdeletevalue dontcreatekey

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallRun]
; TOC keeps running in the tray, and CloseApplications (Restart Manager) is Setup's only: the
; uninstaller ends a running TOC itself before it deletes the files. /F because closing the window
; only hides TOC to the tray; /T for its QtWebEngineProcess children. Only the user's own processes
; can be ended (no administrator rights); "not found" (no TOC running) is ignored.
Filename: "{sys}\taskkill.exe"; Parameters: "/F /T /IM {#AppExe}"; Flags: runhidden waituntilterminated; \
  RunOnceId: "CloseTOC"
