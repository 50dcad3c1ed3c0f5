// Live calls: a Server-Sent Events stream pushes rings and updates for this employee only.
// A ringing call shows a popup and, unless the employee turned it off, opens the client's
// card in a side panel, so whatever the agent was typing on the page stays as it was.
(() => {
  const root = document.getElementById("live-calls");
  if (!root || !window.EventSource) return;
  const labels = JSON.parse(document.getElementById("live-labels").textContent);
  const panel = document.getElementById("call-panel");
  const frame = panel.querySelector("iframe");
  const popups = new Map();

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    node.append(...children.filter(Boolean));
    return node;
  };

  const openPanel = (url) => {
    frame.src = url + (url.includes("?") ? "&" : "?") + "embed=1";
    panel.hidden = false;
    document.body.classList.add("with-call-panel");
  };
  const closePanel = () => {
    panel.hidden = true;
    frame.src = "about:blank";
    document.body.classList.remove("with-call-panel");
  };
  panel.querySelector("[data-close]").addEventListener("click", closePanel);
  panel.querySelector("[data-full]").addEventListener("click", () => {
    const url = frame.src.replace(/[?&]embed=1/, "");
    window.open(url, "_blank", "noopener");
  });

  const ring = (data) => {
    const key = data.call || data.popup;
    if (popups.has(key)) return;
    const client = data.client;
    const title = client
      ? el("a", { href: client.url, class: "popup-client", text: client.name })
      : el("span", { class: "popup-client", text: labels.new_client });
    if (client) title.addEventListener("click", (e) => { e.preventDefault(); openPanel(client.url); });
    const plus = data.fill_in_url
      ? el("a", { href: data.fill_in_url, class: "add-client", title: labels.fill_in, text: "+" })
      : null;
    const tickets = data.tickets.length
      ? el("ul", { class: "popup-tickets" },
          ...data.tickets.map((t) => el("li", {}, el("a", { href: t.url, text: `#${t.id} ${t.title}` }))))
      : el("p", { class: "muted small", text: labels.no_open_tickets });
    const state = el("span", { class: "popup-state", text: labels.ringing });
    const close = el("button", { type: "button", class: "link popup-close", title: labels.close, text: "×" });
    const card = el("div", { class: "popup state-ringing", "data-call": key, role: "alert" },
      el("header", {}, el("span", { class: "popup-kind", text: `☎ ${labels.incoming}` }), state, close),
      el("div", { class: "popup-phone", text: data.phone }),
      el("div", { class: "popup-who" }, title, plus),
      client && client.company ? el("div", { class: "muted small", text: client.company }) : null,
      tickets,
      el("footer", {},
        el("a", { href: data.new_ticket_url, class: "button small", text: labels.new_ticket }),
        client ? el("a", { href: client.url, class: "button small", text: labels.open_card }) : null),
    );
    close.addEventListener("click", () => { card.remove(); popups.delete(key); });
    root.prepend(card);
    popups.set(key, { card, state });
    if (data.auto_open && client) openPanel(client.url);
  };

  const update = (data) => {
    const popup = popups.get(data.call);
    if (!popup) return;
    popup.card.className = `popup state-${data.state}`;
    popup.state.textContent = labels[data.state] || data.state;
    if (data.ticket_url && !popup.card.querySelector(".popup-ticket-link")) {
      popup.card.querySelector("footer").prepend(
        el("a", { href: data.ticket_url, class: "button small popup-ticket-link", text: `${labels.ticket} #${data.ticket}` }));
    }
    if (data.state === "missed" && !panel.hidden) {
      // The card in the panel now has the missed-call ticket: show it.
      frame.contentWindow.location.reload();
    }
    if (data.state === "ended") {
      setTimeout(() => { popup.card.remove(); popups.delete(data.call); }, 8000);
    }
  };

  // EventSource reconnects by itself after a network error, but gives up for good when a
  // reconnection is answered with an error (a proxy's 502 during a deploy, say). Then a new
  // stream is opened from the last id seen, so nothing that rang meanwhile is lost. Every
  // stream opens with a "ready" event carrying its starting id, so there is an id to resume
  // from even when nothing has rung since the page loaded.
  let lastId = "";
  const connect = () => {
    const url = root.dataset.stream + (lastId ? `?last=${encodeURIComponent(lastId)}` : "");
    const source = new EventSource(url);
    const seen = (handler) => (e) => {
      if (e.lastEventId) lastId = e.lastEventId;
      handler(JSON.parse(e.data));
    };
    source.addEventListener("ready", seen(() => {}));
    source.addEventListener("ring", seen(ring));
    source.addEventListener("update", seen(update));
    source.addEventListener("open", () => root.classList.remove("offline"));
    source.addEventListener("error", () => {
      root.classList.add("offline");
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, 2000);
      }
    });
  };
  connect();
})();
