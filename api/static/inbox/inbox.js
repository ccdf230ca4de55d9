// The Tidings Inbox page: plain JS on the same Inbox REST API and socket.io that @novu/js uses.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const state = { token: null, tab: "inbox", items: [] };
  const CHANNEL_NAMES = { in_app: "In-app", email: "Email", sms: "SMS", chat: "Chat", push: "Push" };

  async function call(method, path, body) {
    const response = await fetch(`/v1/inbox${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...(state.token ? { Authorization: `Bearer ${state.token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const json = await response.json();
    if (!response.ok) throw new Error(Array.isArray(json.message) ? json.message.join(", ") : json.message);
    return json;
  }

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    Object.entries(props).forEach(([key, value]) => {
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node[key] = value;
    });
    children.flat().forEach((child) => child != null && node.append(child));
    return node;
  }

  function setBadge(count) {
    const badge = $("badge");
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.hidden = count === 0;
    badge.dataset.count = String(count);
  }

  async function refreshCount() {
    const filters = encodeURIComponent(JSON.stringify([{ read: false, archived: false }]));
    const result = await call("GET", `/notifications/count?filters=${filters}`);
    setBadge(result.data[0].count);
  }

  function when(iso) {
    const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (seconds < 60) return "just now";
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    return new Date(iso).toLocaleString();
  }

  async function change(notification, action, body) {
    const result = await call("PATCH", `/notifications/${notification.id}/${action}`, body);
    const updated = result.data;
    const leaves = (state.tab === "inbox" && updated.isArchived) || (state.tab === "archived" && !updated.isArchived);
    state.items = leaves ? state.items.filter((n) => n.id !== updated.id) : state.items.map((n) => (n.id === updated.id ? updated : n));
    render();
    await refreshCount();
  }

  function item(n, fresh) {
    const actions = el("div", { className: "actions" },
      el("button", { textContent: n.isRead ? "Mark unread" : "Mark read", dataset: { action: n.isRead ? "unread" : "read" },
        onclick: () => change(n, n.isRead ? "unread" : "read") }),
      el("button", { textContent: n.isArchived ? "Unarchive" : "Archive", dataset: { action: n.isArchived ? "unarchive" : "archive" },
        onclick: () => change(n, n.isArchived ? "unarchive" : "archive") }));
    const buttons = [["primary", n.primaryAction], ["secondary", n.secondaryAction]]
      .filter(([, action]) => action)
      .map(([type, action]) => el("button", {
        className: `${type}${action.isCompleted ? " done" : ""}`, textContent: action.label,
        onclick: () => change(n, action.isCompleted ? "revert" : "complete", { actionType: type }),
      }));
    return el("li", { className: `item${n.isRead ? "" : " unread"}${fresh ? " fresh" : ""}`, dataset: { id: n.id, testid: "notification" } },
      el("span", { className: "dot" }),
      el("div", {},
        n.subject ? el("div", { className: "subject", textContent: n.subject }) : null,
        el("div", { className: "body", textContent: n.body }),
        el("div", { className: "meta", textContent: `${n.workflow ? n.workflow.name + " · " : ""}${when(n.createdAt)}` }),
        buttons.length ? el("div", { className: "cta" }, buttons) : null),
      actions);
  }

  function render(freshId) {
    const showList = state.tab !== "preferences";
    $("list").hidden = !showList;
    $("preferences").hidden = showList;
    $("read-all").hidden = !showList;
    $("empty").hidden = !showList || state.items.length > 0;
    $("list").replaceChildren(...(showList ? state.items.map((n) => item(n, n.id === freshId)) : []));
  }

  async function load() {
    if (state.tab === "preferences") return loadPreferences();
    const result = await call("GET", `/notifications?limit=50&archived=${state.tab === "archived"}`);
    state.items = result.data;
    render();
    const unseen = state.items.filter((n) => !n.isSeen).map((n) => n.id);
    if (unseen.length) await call("POST", "/notifications/seen", { notificationIds: unseen });
  }

  async function loadPreferences() {
    const result = await call("GET", "/preferences");
    const rows = result.data.map((pref) => {
      const title = pref.level === "global" ? "All workflows" : pref.workflow.name;
      const toggles = Object.entries(pref.channels).map(([channel, on]) => el("label", {},
        el("input", { type: "checkbox", checked: on, dataset: { channel },
          onchange: async (event) => {
            const path = pref.level === "global" ? "/preferences" : `/preferences/${pref.workflow.id}`;
            await call("PATCH", path, { [channel]: event.target.checked });
          } }),
        CHANNEL_NAMES[channel] || channel));
      return el("div", { className: "pref", dataset: { level: pref.level, workflow: pref.workflow ? pref.workflow.identifier : "" } },
        el("h3", { textContent: title }), el("div", { className: "channels" }, toggles));
    });
    $("preferences").replaceChildren(...rows);
    render();
  }

  function openSocket() {
    const socket = io(window.location.origin, { path: "/socket.io", transports: ["websocket"], query: { token: state.token } });
    const status = $("status");
    socket.on("connect", () => { status.textContent = "live"; status.className = "status live"; });
    socket.on("disconnect", () => { status.textContent = "reconnecting…"; status.className = "status"; });
    socket.on("connect_error", (error) => { status.textContent = `socket: ${error.message}`; status.className = "status"; });
    socket.on("notification_received", ({ message }) => {
      if (state.tab !== "inbox" || state.items.some((n) => n.id === message._id)) return;
      // Fetch it in the REST shape, so one renderer serves both paths.
      call("GET", "/notifications?limit=10").then((result) => {
        const found = result.data.find((n) => n.id === message._id);
        if (found && state.tab === "inbox" && !state.items.some((n) => n.id === found.id)) {
          state.items = [found, ...state.items];
          render(found.id);
        }
      });
    });
    socket.on("unread_count_changed", ({ counts }) => setBadge(counts.total));
  }

  // Web Push: offered when the environment has a web-push integration and the browser can subscribe.
  function b64urlToBytes(text) {
    const raw = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  async function offerPush() {
    const button = $("enable-push");
    const info = (await call("GET", "/web-push")).data;
    if (!info.enabled || !("serviceWorker" in navigator) || !("PushManager" in window)) return;
    button.hidden = false;
    button.onclick = async () => {
      try {
        if ((await Notification.requestPermission()) !== "granted") throw new Error("permission was not granted");
        const registration = await navigator.serviceWorker.register("/inbox/sw.js", { scope: "/inbox/" });
        const subscription = await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: b64urlToBytes(info.vapidPublicKey),
        });
        await call("POST", "/web-push/subscriptions", subscription.toJSON());
        button.textContent = "Browser notifications on";
        button.disabled = true;
      } catch (error) {
        button.textContent = `Browser notifications: ${error.message}`;
      }
    };
  }

  async function connect(event) {
    if (event) event.preventDefault();
    $("connect-error").textContent = "";
    const app = $("app").value.trim();
    const subscriber = $("subscriber").value.trim();
    const hash = $("hash").value.trim();
    try {
      const session = await call("POST", "/session", { applicationIdentifier: app, subscriberId: subscriber, subscriberHash: hash || undefined });
      state.token = session.data.token;
    } catch (error) {
      $("connect-error").textContent = error.message;
      return;
    }
    const params = new URLSearchParams({ app, subscriber, ...(hash ? { hash } : {}) });
    history.replaceState(null, "", `?${params}`);
    $("connect").hidden = true;
    $("who").replaceChildren("Subscriber ", el("strong", { textContent: subscriber }));
    $("inbox").hidden = false;
    await load();
    await refreshCount();
    openSocket();
    offerPush().catch(() => {});
  }

  document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", async () => {
    document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t === tab));
    state.tab = tab.dataset.tab;
    await load();
  }));
  $("read-all").addEventListener("click", async () => {
    await call("POST", "/notifications/read", {});
    await load();
    await refreshCount();
  });
  $("connect").addEventListener("submit", connect);

  const params = new URLSearchParams(window.location.search);
  $("app").value = params.get("app") || "";
  $("subscriber").value = params.get("subscriber") || "";
  $("hash").value = params.get("hash") || "";
  if (params.get("app") && params.get("subscriber")) connect();
})();
