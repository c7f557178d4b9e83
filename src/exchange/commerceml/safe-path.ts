/**
 * Upload names come from the client (`mode=file&filename=import_files/ab/ab12.jpg`) and end up
 * as paths under the exchange directory, so every name is checked before it touches the disk:
 * the same rules apply to names inside zip archives.
 */

// Whatever a web server next to the upload folder could execute or obey, plus Windows launchers.
const FORBIDDEN_EXTENSIONS = new Set([
  'php',
  'php3',
  'php4',
  'php5',
  'php7',
  'php8',
  'phtml',
  'pht',
  'phar',
  'phps',
  'inc',
  'js',
  'mjs',
  'cjs',
  'ts',
  'sh',
  'bash',
  'zsh',
  'csh',
  'ksh',
  'pl',
  'py',
  'rb',
  'cgi',
  'fcgi',
  'asp',
  'aspx',
  'ashx',
  'asmx',
  'jsp',
  'jspx',
  'shtml',
  'shtm',
  'htaccess',
  'htpasswd',
  'exe',
  'com',
  'bat',
  'cmd',
  'ps1',
  'vbs',
  'wsf',
  'scr',
  'dll',
  'so',
  'jar',
  'svg',
  'html',
  'htm',
]);

const MAX_PATH = 1024;
const MAX_SEGMENT = 255;

export type PathCheck = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Returns the normalised relative path (forward slashes) or why it is refused, in Russian for
 * the 1C administrator. Refused: empty names, absolute paths, drive letters, `..` and `.`
 * segments (also spelled with backslashes), hidden segments, control characters, and script
 * extensions anywhere in the name (`x.php.jpg` is refused too: some servers run it).
 */
export function checkUploadPath(name: string | undefined): PathCheck {
  if (name === undefined || name.trim() === '')
    return { ok: false, reason: 'не указано имя файла (filename)' };
  if (name.length > MAX_PATH) return { ok: false, reason: `имя файла длиннее ${MAX_PATH} символов` };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(name))
    return { ok: false, reason: 'имя файла содержит управляющие символы' };
  const unified = name.replace(/\\/g, '/');
  if (unified.startsWith('/') || /^[a-zA-Z]:/.test(unified) || unified.startsWith('~')) {
    return {
      ok: false,
      reason: `абсолютный путь "${name}" не допускается; нужен путь относительно папки обмена`,
    };
  }
  const segments = unified.split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') {
      return { ok: false, reason: `недопустимый путь "${name}": пустые сегменты, "." и ".." запрещены` };
    }
    if (segment.startsWith('.'))
      return { ok: false, reason: `скрытые файлы и папки ("${segment}") не принимаются` };
    if (segment.length > MAX_SEGMENT)
      return { ok: false, reason: `часть пути длиннее ${MAX_SEGMENT} символов` };
    if (/[<>:"|?*]/.test(segment)) return { ok: false, reason: `недопустимые символы в имени "${segment}"` };
    const parts = segment.toLowerCase().split('.').slice(1);
    const bad = parts.find((part) => FORBIDDEN_EXTENSIONS.has(part.trim()));
    if (bad) return { ok: false, reason: `файлы с расширением .${bad} не принимаются ("${name}")` };
  }
  return { ok: true, path: segments.join('/') };
}
