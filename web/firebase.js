// Firebase (the SDK vendored from npm under vendor/firebase, no CDN): sign-in with Firebase Auth, whose SDK keeps
// the ID token fresh by itself (the refresh token renews it before it expires), and Firestore for live pages.
// On the local stack config.json names the emulators: the local issuer speaks Identity Toolkit's protocol and signs
// real RS256 tokens, and the Firestore emulator enforces terraform/firestore.rules for the browser.

import { initializeApp } from './vendor/firebase/firebase-app.js';
import {
  browserSessionPersistence, connectAuthEmulator, getAuth, onAuthStateChanged, setPersistence,
  signInWithEmailAndPassword, signOut as authSignOut,
} from './vendor/firebase/firebase-auth.js';
import { connectFirestoreEmulator, getFirestore } from './vendor/firebase/firebase-firestore.js';

let parts = null;

export function firebase(config) {
  if (parts) return parts;
  const app = initializeApp(config.firebase);
  const auth = getAuth(app);
  const db = getFirestore(app);
  const emulators = config.emulators || {};
  if (emulators.auth) connectAuthEmulator(auth, emulators.auth, { disableWarnings: true });
  if (emulators.firestore) {
    const [host, port] = emulators.firestore.split(':');
    connectFirestoreEmulator(db, host, Number(port));
  }
  // Signed in for this tab only (like the session it replaces); closing the tab signs out.
  const ready = setPersistence(auth, browserSessionPersistence).then(() => new Promise((resolve) => {
    const stop = onAuthStateChanged(auth, (user) => { stop(); resolve(user); });
  }));
  parts = { app, auth, db, ready };
  return parts;
}

export async function signIn(config, email, password) {
  const { auth, ready } = firebase(config);
  await ready;
  return signInWithEmailAndPassword(auth, email, password);
}

export async function signOut(config) {
  await authSignOut(firebase(config).auth);
}
