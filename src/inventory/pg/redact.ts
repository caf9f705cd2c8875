/** The password of a postgres:// URL, in its user info or a password= parameter ('' when none or the URL does not parse). */
export function urlPassword(url: string): string {
  try {
    const u = new URL(url);
    return decodeURIComponent(u.password) || (u.searchParams.get('password') ?? '');
  } catch {
    return '';
  }
}

/**
 * A postgres:// URL fit for logs and errors: the password replaced by `***` (also a `password=`
 * query parameter); a URL that does not parse is not shown at all.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString().replace('password=%2A%2A%2A', 'password=***');
  } catch {
    return '(a PostgreSQL URL that does not parse)';
  }
}

/** `text` with every occurrence of the URL's password (raw and percent-encoded) replaced by `***`. */
export function scrubPassword(text: string, url: string): string {
  const password = urlPassword(url);
  if (!password) return text;
  let out = text.split(password).join('***');
  const encoded = encodeURIComponent(password);
  if (encoded !== password) out = out.split(encoded).join('***');
  return out;
}
