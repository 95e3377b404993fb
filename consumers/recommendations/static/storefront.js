// The storefront's product page: the product, "recommended for you" and "similar items", from the API.
// Impressions are sent once both lists are on screen; a click is sent before following the link.
// When everything is rendered, <body data-state="rendered"> and window.recsRenderedMs (ms since navigation).
"use strict";

const K = 10;
const COLOURS = ["#2f6fde", "#1e9e74", "#d9693a", "#8e5bd6", "#c2417a", "#3a8fb7", "#7a8a2e", "#b5543a"];

function colourOf(text) {
  let hash = 0;
  for (const character of text || "") hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
  return COLOURS[hash % COLOURS.length];
}

function monogram(text) {
  // A short label for the picture placeholder: a model number when the name ends with one, else initials.
  const words = String(text || "?").trim().split(/\s+/);
  const last = words[words.length - 1];
  if (words.length > 1 && last.length <= 4) return last.toUpperCase();
  return words.slice(0, 2).map((word) => word[0]).join("").toUpperCase();
}

function customerId() {
  const fromUrl = new URLSearchParams(location.search).get("customer");
  if (fromUrl) return fromUrl;
  let stored = null;
  try { stored = localStorage.getItem("shopsmart-customer"); } catch (error) { /* private mode */ }
  if (!stored) {
    stored = "guest-" + Math.random().toString(36).slice(2, 10);
    try { localStorage.setItem("shopsmart-customer", stored); } catch (error) { /* private mode */ }
  }
  return stored;
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(url + " answered " + response.status);
  return response.json();
}

function sendFeedback(body) {
  // keepalive lets a click's feedback outlive the navigation it triggers.
  return fetch("/feedback", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    keepalive: true,
  }).catch(() => undefined);
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderProduct(itemId, details) {
  const product = document.getElementById("product");
  product.replaceChildren();
  const picture = element("div", "picture", monogram(details && details.name ? details.name : itemId));
  picture.style.background = colourOf(details && details.category);
  const text = element("div");
  if (!details) {
    text.append(element("h1", "", "Product not found"), element("div", "meta", itemId + " is not in the catalogue"));
  } else {
    text.append(
      element("div", "meta", details.category || ""),
      element("h1", "", details.name || itemId),
      element("div", "meta", (details.brand ? details.brand + " · " : "") + itemId),
    );
    if (details.price) text.append(element("div", "price", "€" + details.price));
  }
  product.append(picture, text);
}

function renderList(prefix, listing, listKind, customer) {
  const row = document.getElementById(prefix + "-items");
  const note = document.getElementById(prefix + "-note");
  row.replaceChildren();
  note.replaceChildren();
  if (!listing || listing.items.length === 0) {
    row.append(element("div", "empty", listing ? "Nothing to show yet" : "No similar items for an unknown product"));
    row.dataset.count = "0";
    return;
  }
  if (listing.cold_start) note.append(element("span", "badge", "popular picks"));
  if (listing.degraded) note.append(element("span", "badge warn", "served from fallback"));
  listing.items.forEach((item, position) => {
    const card = element("a", "card");
    card.href = "/shop/products/" + encodeURIComponent(item.item_id) + "?customer=" + encodeURIComponent(customer);
    card.dataset.itemId = item.item_id;
    const thumb = element("div", "thumb", monogram(item.name || item.item_id));
    thumb.style.background = colourOf(item.category);
    card.append(
      thumb,
      element("div", "name", item.name || item.item_id),
      element("div", "sub", [item.category, item.price ? "€" + item.price : ""].filter(Boolean).join(" · ")),
    );
    card.addEventListener("click", (event) => {
      event.preventDefault();
      sendFeedback({
        kind: "click", customer_id: customer, recommendation_id: listing.recommendation_id,
        item_id: item.item_id, position: position, list_kind: listKind,
      }).finally(() => { location.href = card.href; });
    });
    row.append(card);
  });
  row.dataset.count = String(listing.items.length);
  row.dataset.recommendationId = listing.recommendation_id;
}

async function load() {
  const itemId = decodeURIComponent(location.pathname.split("/").pop());
  const customer = customerId();
  document.getElementById("who").textContent = "Signed in as " + customer;
  const base = "?k=" + K + "&details=true";
  try {
    const [details, forYou, similar] = await Promise.all([
      getJson("/items/" + encodeURIComponent(itemId)),
      getJson("/recommendations/" + encodeURIComponent(customer) + base),
      getJson("/items/" + encodeURIComponent(itemId) + "/similar" + base),
    ]);
    renderProduct(itemId, details);
    renderList("for-you", forYou, "customer", customer);
    renderList("similar", similar, "similar", customer);
    document.body.dataset.state = "rendered";
    window.recsRenderedMs = performance.now();
    for (const [listing, listKind] of [[forYou, "customer"], [similar, "similar"]]) {
      if (listing && listing.items.length) {
        sendFeedback({
          kind: "impression", customer_id: customer, recommendation_id: listing.recommendation_id,
          item_ids: listing.items.map((item) => item.item_id), list_kind: listKind,
        });
      }
    }
  } catch (error) {
    document.body.dataset.state = "failed";
    document.getElementById("product").replaceChildren(element("div", "empty", "Could not load: " + error.message));
  }
}

load();
