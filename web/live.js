// Live pages: Firestore listeners (onSnapshot) that redraw a part of the page when its documents change, all
// stopped when the page changes. Each listener is billed one read per document it receives (the first answer, then
// each change), which window.spreadpilotReads counts for `make bench`.

import { db } from './api.js';
import {
  collection, doc, limit, onSnapshot, orderBy, query, where,
} from './vendor/firebase/firebase-firestore.js';

export { collection, doc, limit, orderBy, query, where };

const active = new Set();
window.spreadpilotReads = window.spreadpilotReads || { documents: 0, snapshots: 0, listeners: 0, errors: 0 };

function count(received) {
  window.spreadpilotReads.documents += Math.max(received, 1);  // an empty answer still costs one read
  window.spreadpilotReads.snapshots += 1;
}

// Stop every listener of the page being left.
export function stopAll() {
  for (const stop of active) stop();
  active.clear();
}

// Listen to one query: onRows(rows) with every document as {id, ...fields}, now and on each change.
export function watchQuery(build, onRows, onError) {
  let stop = () => {};
  db().then((firestore) => {
    const q = build(firestore);
    stop = onSnapshot(q, (snap) => {
      count(snap.docChanges().length);
      onRows(snap.docs.map((d) => ({ id: d.id, ...d.data() })));
    }, (error) => { window.spreadpilotReads.errors += 1; (onError || console.error)(error); });
    window.spreadpilotReads.listeners += 1;
  });
  const handle = () => stop();
  active.add(handle);
  return handle;
}

// Listen to one document: onDoc({id, ...fields}) or onDoc(null) while it does not exist.
export function watchDoc(path, onDoc, onError) {
  let stop = () => {};
  db().then((firestore) => {
    stop = onSnapshot(doc(firestore, ...path.split('/')), (snap) => {
      count(1);
      onDoc(snap.exists() ? { id: snap.id, ...snap.data() } : null);
    }, (error) => { window.spreadpilotReads.errors += 1; (onError || console.error)(error); });
    window.spreadpilotReads.listeners += 1;
  });
  const handle = () => stop();
  active.add(handle);
  return handle;
}

// Today's New York date and the instant its day began, as the documents store them (ISO strings sort in time).
export function newYorkToday(now = new Date()) {
  const day = now.toLocaleDateString('en-CA', { timeZone: 'America/New_York' });
  return { day, startIso: new Date(`${day}T00:00:00-05:00`).toISOString() };
}
