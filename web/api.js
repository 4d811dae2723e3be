// The API client: where the API is (config.json), the signed-in user's ID token, and JSON calls.
// The token comes from Firebase Auth each call: the SDK answers from its cache and refreshes it silently before it
// expires, so an admin who leaves the app open stays signed in.

import { firebase, signIn as firebaseSignIn, signOut as firebaseSignOut } from './firebase.js';

let config = null;

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

// Who is signed in (a Firebase user), once Firebase Auth has restored the session of this tab.
export async function session() {
  const { auth, ready } = firebase(await loadConfig());
  await ready;
  return auth.currentUser;
}

export async function db() {
  return firebase(await loadConfig()).db;
}

export async function signOut() {
  await firebaseSignOut(await loadConfig());
}

export async function signIn(email, password) {
  try {
    return await firebaseSignIn(await loadConfig(), email, password);
  } catch (e) {
    throw new Error((e.code || e.message || 'sign-in failed').replace(/^auth\//, ''));
  }
}

async function send(method, path, body, retried = false) {
  const { apiBaseUrl } = await loadConfig();
  const user = await session();
  const headers = {};
  if (user) {
    try {
      headers.Authorization = `Bearer ${await user.getIdToken(retried)}`;
    } catch (e) {  // no fresh token (the account was disabled): sign out, as a refused token does below
      await signOut();
      window.dispatchEvent(new CustomEvent('signed-out'));
      throw new ApiError(401, { error: { message: 'signed out: this account can no longer sign in' } });
    }
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${apiBaseUrl}/api/v1${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && user && !retried) return send(method, path, body, true);  // a token revoked early
  if (response.status === 401) {
    await signOut();
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
