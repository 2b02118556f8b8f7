// SMS encoding and segment counting for the composer's live counter: a port of
// smshub/messaging/encoding.py, so the browser and the server always agree (a Playwright
// test compares the two on a table of texts). Specs: 3GPP TS 23.038 §6.2.1 (GSM 7-bit
// default alphabet and its extension table, each extension character costs two septets)
// and §6.2.3 (UCS-2, 16-bit units; a surrogate pair is two units and never split);
// TS 23.040 §9.2.3.24.1 (160/153 septets, 70/67 units per single/concatenated segment).

export const GSM7 = "GSM-7";
export const UCS2 = "UCS-2";

const GSM7_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ" +
    "ÆæßÉ" +
    " !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
    "¿abcdefghijklmnopqrstuvwxyzäöñüà",
);
const GSM7_EXTENSION = new Set("\f^{}\\[~]|€");

export const CAPACITY = { [GSM7]: [160, 153], [UCS2]: [70, 67] };

function fromKeys(keys, value, into) {
  for (const k of keys) into[k] = value;
}

// Look-alikes of GSM-7 characters and their GSM-7 stand-ins (SMART_REPLACEMENTS).
export const SMART_REPLACEMENTS = (() => {
  const map = {};
  fromKeys("\u2018\u2019\u201a\u201b\u2032\u2035\u02b9\u02bc\u02c8\u00b4\u0060", "'", map);
  fromKeys("\u2039\u203a", "'", map);
  fromKeys("\u201c\u201d\u201e\u201f\u2033\u2036\u301d\u301e\u00ab\u00bb", '"', map);
  fromKeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212", "-", map);
  map["\u2026"] = "...";
  fromKeys("\t\u00a0\u1680\u202f\u205f\u3000", " ", map);
  for (let c = 0x2000; c < 0x200b; c++) map[String.fromCharCode(c)] = " ";
  fromKeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", "", map);
  fromKeys("\u2022\u2023\u2219\u22c5\u00b7", "-", map);
  map["\u02c6"] = "^";
  map["\u02dc"] = "~";
  map["\u2044"] = "/";
  map["\u2215"] = "/";
  map["\u2126"] = "\u03a9";
  map["\u2206"] = "\u0394";
  for (let c = 0xff01; c < 0xff5f; c++) map[String.fromCharCode(c)] = String.fromCharCode(c - 0xfee0);
  map["\uff40"] = "'";
  return map;
})();

function isGsmChar(ch) {
  return GSM7_BASIC.has(ch) || GSM7_EXTENSION.has(ch);
}

// Code points, as Python iterates a str: a lone surrogate is one item, a pair is one.
function codePoints(text) {
  return Array.from(text);
}

export function isGsm7(text) {
  for (const ch of text) if (!isGsmChar(ch)) return false;
  return true;
}

export function smartReplace(text) {
  if (isGsm7(text)) return text;
  const chars = codePoints(text);
  for (const ch of chars) {
    if (!isGsmChar(ch) && !Object.prototype.hasOwnProperty.call(SMART_REPLACEMENTS, ch)) {
      return text; // a real non-GSM character stays: replacing would save nothing
    }
  }
  return chars.map((ch) => (isGsmChar(ch) ? ch : SMART_REPLACEMENTS[ch])).join("");
}

// Greedy packing into segments of `capacity` units; an item of weight 2 is never split.
function pack(weights, capacity) {
  let segments = 1;
  let used = 0;
  for (const w of weights) {
    if (used + w > capacity) {
      segments += 1;
      used = 0;
    }
    used += w;
  }
  return { segments, last: used };
}

/**
 * How a text goes on the wire: {encoding, text, units, segments, perSegment, remaining,
 * chars}, like encoding.analyze (chars counts code points, after smart replacement).
 */
export function analyze(input, options = {}) {
  const text = options.smart ? smartReplace(input) : input;
  const chars = codePoints(text);
  const encoding = isGsm7(text) ? GSM7 : UCS2;
  // GSM-7: septets, two per extension character. UCS-2: UTF-16 units (String length).
  const weights = chars.map((ch) =>
    encoding === GSM7 ? (GSM7_EXTENSION.has(ch) ? 2 : 1) : ch.length,
  );
  const units = weights.reduce((a, b) => a + b, 0);
  const [single, multi] = CAPACITY[encoding];
  let segments;
  let perSegment;
  let last;
  if (units <= single) {
    segments = text ? 1 : 0;
    perSegment = single;
    last = units;
  } else {
    ({ segments, last } = pack(weights, multi));
    perSegment = multi;
  }
  return {
    encoding,
    text,
    units,
    segments,
    perSegment,
    remaining: perSegment - last,
    chars: chars.length,
  };
}

function plural(n, noun) {
  return n === 1 ? `${n} ${noun}` : `${n} ${noun}s`;
}

/** null when within the limits, else the broken rule, as the server words it. */
export function checkLimits(info, { maxSegments = null, maxChars = null } = {}) {
  if (maxSegments != null && info.segments > maxSegments) {
    return `is ${plural(info.segments, "segment")}; the limit is ${plural(maxSegments, "segment")}`;
  }
  if (maxChars != null && info.chars > maxChars) {
    return `is ${plural(info.chars, "character")}; the limit is ${plural(maxChars, "character")}`;
  }
  return null;
}
