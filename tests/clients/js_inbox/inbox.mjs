// Drives Tidings with the unmodified @novu/js client, as a browser app would, and prints one JSON report.
// Environment: API_URL, APP_ID, SUBSCRIBER_ID, WORKFLOW_ID, API_KEY (only to trigger, as a backend would).
import { Novu } from "@novu/js";

const { API_URL, APP_ID, SUBSCRIBER_ID, WORKFLOW_ID, API_KEY } = process.env;
const report = {};

function withTimeout(promise, ms, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)),
  ]);
}

function once(novu, event) {
  return new Promise((resolve) => {
    const off = novu.on(event, (payload) => {
      off();
      resolve(payload);
    });
  });
}

const novu = new Novu({
  applicationIdentifier: APP_ID,
  subscriberId: SUBSCRIBER_ID,
  apiUrl: API_URL,
  socketUrl: API_URL,
  useCache: false,
});

const session = await withTimeout(once(novu, "session.initialize.resolved"), 15000, "session");
if (session.error) throw session.error;
report.session = { totalUnreadCount: session.data.totalUnreadCount };

const listed = await novu.notifications.list({ limit: 10 });
if (listed.error) throw listed.error;
report.list = listed.data.notifications.map((n) => ({ id: n.id, body: n.body, isRead: n.isRead }));

const first = listed.data.notifications[0];
const read = await first.read();
if (read.error) throw read.error;
report.read = { id: read.data.id, isRead: read.data.isRead };

const count = await novu.notifications.count({ read: false });
if (count.error) throw count.error;
report.unreadAfterRead = count.data.count;

const prefs = await novu.preferences.list();
if (prefs.error) throw prefs.error;
const mine = prefs.data.find((p) => p.workflow && p.workflow.id === WORKFLOW_ID);
report.preferences = { levels: prefs.data.map((p) => p.level), mine: mine && mine.channels };
const updated = await mine.update({ channels: { in_app: false } });
if (updated.error) throw updated.error;
report.preferenceUpdated = updated.data.channels;
const back = await updated.data.update({ channels: { in_app: true } });
if (back.error) throw back.error;

// Live: connect the socket, then trigger as the app's backend would.
const connected = once(novu, "socket.connect.resolved");
const received = once(novu, "notifications.notification_received");
const unread = once(novu, "notifications.unread_count_changed");
const socketResult = await withTimeout(connected, 15000, "socket connect");
if (socketResult.error) throw socketResult.error;
const trigger = await fetch(`${API_URL}/v1/events/trigger`, {
  method: "POST",
  headers: { Authorization: `ApiKey ${API_KEY}`, "Content-Type": "application/json" },
  body: JSON.stringify({ name: process.env.TRIGGER_NAME || "comment", to: SUBSCRIBER_ID, payload: { name: "live" } }),
});
report.triggerStatus = trigger.status;
const live = await withTimeout(received, 20000, "notification_received");
report.live = { id: live.result.id, body: live.result.body, isRead: live.result.isRead };
report.unreadCountChanged = (await withTimeout(unread, 20000, "unread_count_changed")).result;

await novu.socket.disconnect();
console.log(JSON.stringify(report));
process.exit(0);
