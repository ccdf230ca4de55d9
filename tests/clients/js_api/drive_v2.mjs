// Drives Tidings' v2 routes through the official @novu/api SDK (retries off) and prints what each
// call answered as one JSON object. tests/clients/test_sdk_v2_js.py runs it and asserts on the result.
// Input (environment): TIDINGS_URL, TIDINGS_KEY, TIDINGS_OTHER_KEY, TIDINGS_SCENARIO, TIDINGS_SUBSCRIBER.
import { Novu } from "@novu/api";

const url = process.env.TIDINGS_URL;
const novu = new Novu({ secretKey: process.env.TIDINGS_KEY, serverURL: url, retryConfig: { strategy: "none" } });
const other = new Novu({
  secretKey: process.env.TIDINGS_OTHER_KEY,
  serverURL: url,
  retryConfig: { strategy: "none" },
});

const out = {};

// Records the SDK's parsed result, or the error it raised (class, status, body), under `name`.
async function attempt(name, fn) {
  try {
    const res = await fn();
    out[name] = { ok: true, value: res === undefined ? null : res.result === undefined ? null : res.result };
  } catch (err) {
    let body = err.body;
    try {
      body = JSON.parse(err.body);
    } catch {
      // not JSON: keep the text
    }
    out[name] = { ok: false, error: err.constructor.name, status: err.statusCode ?? null, body, message: String(err.message).slice(0, 500) };
  }
}

async function subscribers() {
  await attempt("create", () =>
    novu.subscribers.create({
      subscriberId: "js-ada",
      firstName: "Ada",
      lastName: "Lovelace",
      email: "ada@js.example",
      locale: "en_GB",
      timezone: "Europe/London",
      data: { plan: "pro" },
    }),
  );
  await attempt("createConflict", () => novu.subscribers.create({ subscriberId: "js-ada" }, true));
  await attempt("createInvalid", () => novu.subscribers.create({ subscriberId: "js-bad", email: "nope" }));
  await attempt("retrieve", () => novu.subscribers.retrieve("js-ada"));
  await attempt("patch", () => novu.subscribers.patch({ phone: "+15550123", lastName: null }, "js-ada"));
  for (const i of [1, 2, 3]) {
    await novu.subscribers.create({ subscriberId: `js-s${i}`, firstName: `Grace${i}`, email: `s${i}@js.example` });
  }
  await attempt("searchEmail", () => novu.subscribers.search({ email: "s2@js" }));
  await attempt("searchPage1", () => novu.subscribers.search({ limit: 2 }));
  const next = out.searchPage1.ok ? out.searchPage1.value.next : null;
  await attempt("searchPage2", () => novu.subscribers.search({ limit: 2, after: next }));
  await attempt("searchAsc", () => novu.subscribers.search({ limit: 2, orderDirection: "ASC" }));
  await attempt("otherRetrieve", () => other.subscribers.retrieve("js-ada"));
  await attempt("otherSearch", () => other.subscribers.search({}));
  await attempt("bulk", () =>
    novu.subscribers.createBulk({ subscribers: [{ subscriberId: "js-b1" }, { subscriberId: "js-b2" }] }),
  );
  await attempt("delete", () => novu.subscribers.delete("js-s3"));
  await attempt("deleteMissing", () => novu.subscribers.delete("js-s3"));
}

async function topics() {
  await attempt("topicCreate", () => novu.topics.create({ key: "js:news", name: "News" }));
  await attempt("topicUpsert", () => novu.topics.create({ key: "js:news", name: "Daily news" }));
  await attempt("topicConflict", () => novu.topics.create({ key: "js:news", name: "X" }, true));
  await attempt("topicBadKey", () => novu.topics.create({ key: "bad key!", name: "X" }));
  await attempt("topicGet", () => novu.topics.get("js:news"));
  await attempt("topicUpdate", () => novu.topics.update({ name: "Weekly news" }, "js:news"));
  await attempt("topicList", () => novu.topics.list({ key: "js:", limit: 10 }));
  await attempt("subsCreate", () =>
    novu.topics.subscriptions.create(
      {
        subscriptions: ["js-s1", { identifier: "s2-phone", subscriberId: "js-s2" }, "js-ghost"],
        preferences: [{ workflowId: "welcome", enabled: false }],
      },
      "js:news",
    ),
  );
  await attempt("subsOverLimit", () =>
    novu.topics.subscriptions.create(
      { subscriberIds: Array.from({ length: 101 }, (_, i) => `x${i}`) },
      "js:news",
    ),
  );
  await attempt("subsList", () => novu.topics.subscriptions.list({ topicKey: "js:news", limit: 1 }));
  await attempt("subsGet", () => novu.topics.subscriptions.getSubscription("js:news", "s2-phone"));
  await attempt("subsUpdate", () =>
    novu.topics.subscriptions.update({
      topicKey: "js:news",
      identifier: "s2-phone",
      updateTopicSubscriptionRequestDto: { name: "Phone" },
    }),
  );
  await attempt("subscriberTopics", () => novu.subscribers.topics.list({ subscriberId: "js-s2" }));
  await attempt("subsDelete", () =>
    novu.topics.subscriptions.delete({ subscriptions: [{ identifier: "s2-phone" }] }, "js:news"),
  );
  await attempt("otherTopicGet", () => other.topics.get("js:news"));
  await attempt("otherSubsList", () => other.topics.subscriptions.list({ topicKey: "js:news" }));
  await attempt("topicDelete", () => novu.topics.delete("js:news"));
  await attempt("topicGetMissing", () => novu.topics.get("js:news"));
}

async function preferences() {
  await attempt("prefsList", () => novu.subscribers.preferences.list({ subscriberId: "js-s1" }));
  await attempt("prefsCritical", () =>
    novu.subscribers.preferences.list({ subscriberId: "js-s1", criticality: "critical" }),
  );
  await attempt("prefsUpdate", () =>
    novu.subscribers.preferences.update({ workflowId: "welcome", channels: { email: false } }, "js-s1"),
  );
  await attempt("prefsGlobal", () => novu.subscribers.preferences.update({ channels: { sms: false } }, "js-s1"));
  await attempt("prefsBulk", () =>
    novu.subscribers.preferences.bulkUpdate(
      { preferences: [{ workflowId: "welcome", channels: { inApp: false } }] },
      "js-s1",
    ),
  );
  await attempt("prefsMissingWorkflow", () =>
    novu.subscribers.preferences.update({ workflowId: "nope", channels: { email: false } }, "js-s1"),
  );
  await attempt("otherPrefs", () => other.subscribers.preferences.list({ subscriberId: "js-s1" }));
}

async function notifications() {
  const subscriberId = process.env.TIDINGS_SUBSCRIBER;
  const n = novu.subscribers.notifications;
  await attempt("notesList", () => n.list({ subscriberId, limit: 10 }));
  const ids = out.notesList.ok ? out.notesList.value.data.map((x) => x.id) : [];
  await attempt("notesPage", () => n.list({ subscriberId, limit: 1 }));
  await attempt("notesCount", () => n.count(subscriberId, JSON.stringify([{ read: false }, {}])));
  await attempt("notesRead", () => n.markAsRead({ subscriberId, notificationId: ids[0] }));
  await attempt("notesUnread", () => n.markAsUnread({ subscriberId, notificationId: ids[0] }));
  await attempt("notesArchive", () => n.archive({ subscriberId, notificationId: ids[1] }));
  await attempt("notesArchived", () => n.list({ subscriberId, archived: true }));
  await attempt("notesUnarchive", () => n.unarchive({ subscriberId, notificationId: ids[1] }));
  await attempt("notesSeen", () => n.markAsSeen({ notificationIds: [ids[0]] }, subscriberId));
  await attempt("notesReadAll", () => n.markAllAsRead({}, subscriberId));
  await attempt("notesArchiveRead", () => n.archiveAllRead({}, subscriberId));
  await attempt("notesArchiveAll", () => n.archiveAll({}, subscriberId));
  await attempt("notesAfterArchive", () => n.list({ subscriberId }));
  await attempt("notesDelete", () => n.delete({ subscriberId, notificationId: ids[0] }));
  await attempt("notesOther", () => other.subscribers.notifications.list({ subscriberId }));
  await attempt("notesMissing", () => n.markAsRead({ subscriberId, notificationId: "000000000000000000000000" }));
  await attempt("notesDeleteAll", () => n.deleteAll({}, subscriberId));
  await attempt("notesEnd", () => n.list({ subscriberId }));
}

async function notificationStates() {
  const subscriberId = process.env.TIDINGS_SUBSCRIBER;
  const n = novu.subscribers.notifications;
  await attempt("statesList", () => n.list({ subscriberId, limit: 10 }));
  const notificationId = out.statesList.ok ? out.statesList.value.data[0].id : "none";
  const snoozeUntil = new Date(Date.now() + 2 * 3600 * 1000);
  await attempt("snooze", () => n.snooze({ subscriberId, notificationId, snoozeSubscriberNotificationDto: { snoozeUntil } }));
  await attempt("snoozedList", () => n.list({ subscriberId, snoozed: true }));
  await attempt("unsnooze", () => n.unsnooze({ subscriberId, notificationId }));
  await attempt("complete", () => n.completeAction({ subscriberId, notificationId, actionType: "primary" }));
  await attempt("revert", () => n.revertAction({ subscriberId, notificationId, actionType: "primary" }));
  await attempt("completeOther", () =>
    other.subscribers.notifications.completeAction({ subscriberId, notificationId, actionType: "primary" }),
  );
}

const scenarios = { subscribers, topics, preferences, notifications, notificationStates };
for (const name of (process.env.TIDINGS_SCENARIO || "subscribers,topics,preferences").split(",")) {
  await scenarios[name]();
}
console.log(JSON.stringify(out));
