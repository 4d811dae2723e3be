// The API client: where the API and the sign-in endpoint are (config.json), the ID token, and JSON calls.

let config = null;
const TOKEN_KEY = 'spreadpilot.idToken';

export async function loadConfig() {
  if (!config) {
    const response = await fetch('/config.json', { cache: 'no-store' });
    if (!response.ok) throw new Error('config.json is missing: the app does not know where the API is');
    config = await response.json();
  }
  return config;
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.where = error.where || '';
    this.problems = error.problems || [];
  }
}

export function session() {
  const raw = sessionStorage.getItem(TOKEN_KEY);
  if (!raw) return null;
  const saved = JSON.parse(raw);
  return saved.expiresAt > Date.now() ? saved : null;
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// Identity Toolkit's password sign-in (Firebase Auth in production, the local issuer on the local stack).
export async function signIn(email, password) {
  const { signInUrl } = await loadConfig();
  const response = await fetch(signInUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password, returnSecureToken: true }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((body.error && body.error.message) || 'sign-in failed');
  const expiresAt = Date.now() + Number(body.expiresIn || 3600) * 1000 - 60_000;
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ idToken: body.idToken, email: body.email, expiresAt }));
  return body;
}

async function send(method, path, body) {
  const { apiBaseUrl } = await loadConfig();
  const current = session();
  const headers = {};
  if (current) headers.Authorization = `Bearer ${current.idToken}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${apiBaseUrl}/api/v1${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    signOut();
    window.dispatchEvent(new CustomEvent('signed-out'));
  }
  return response;
}

export async function api(method, path, body) {
  const response = await send(method, path, body);
  const payload = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, payload);
  return payload;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);
export const patch = (path, body) => api('PATCH', path, body);

// A file behind the API (a local statement): fetched with the token, handed back as an object URL.
export async function fileUrl(link) {
  if (!link.auth) return link.url;
  const response = await send('GET', link.url.replace(/^\/api\/v1/, ''));
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  return URL.createObjectURL(await response.blob());
}
