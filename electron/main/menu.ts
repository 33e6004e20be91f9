import type { MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  openDataFolder(): void;
  openExternal(url: string): void;
}

const DOCS_URL = 'https://github.com/switchboard-app/switchboard#readme';
const ISSUES_URL = 'https://github.com/switchboard-app/switchboard/issues';

/** File / Edit / View / Window / Help, with the platform's conventions (the app menu on macOS). */
export function buildMenuTemplate(
  platform: NodeJS.Platform,
  dev: boolean,
  actions: MenuActions,
): MenuItemConstructorOptions[] {
  const mac = platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [];
  if (mac) template.push({ role: 'appMenu' });
  template.push(
    {
      label: 'File',
      submenu: [
        { label: 'Open Data Folder', click: () => actions.openDataFolder() },
        { type: 'separator' },
        mac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        ...(dev
          ? ([{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }] as MenuItemConstructorOptions[])
          : []),
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        { label: 'Documentation', click: () => actions.openExternal(DOCS_URL) },
        { label: 'Report a Problem', click: () => actions.openExternal(ISSUES_URL) },
      ],
    },
  );
  return template;
}
