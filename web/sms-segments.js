// How many SMS a text takes, by the rule the server uses too (toc/sms/segments.py; the SMS
// contract): GSM-7 when every character is in the GSM 03.38 basic set or its extension table
// (an extension character takes 2 septets, the escape and itself), one SMS up to 160 septets,
// else 153 each (the rest carries the concatenation header). Any other character makes the
// whole text UCS-2, counted in UTF-16 code units: one SMS up to 70, else 67 each.

// GSM 03.38 basic character set, in table order (0x00-0x7F), without the escape at 0x1B.
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅå'
  + 'Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ'
  + ' !"#¤%&\'()*+,-./'
  + '0123456789:;<=>?'
  + '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§'
  + '¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
// GSM 03.38 extension table: each is sent as escape + character.
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

const LIMITS = {
  'GSM-7': { single: 160, multi: 153 },
  'UCS-2': { single: 70, multi: 67 },
};

// The first character of `text` that GSM-7 cannot carry (what makes it UCS-2), or ''.
export function firstUnicodeChar(text) {
  for (const char of String(text || '')) {
    if (!GSM_BASIC.has(char) && !GSM_EXTENSION.has(char)) return char;
  }
  return '';
}

// {encoding: "GSM-7"|"UCS-2", units, segments, perSegment, remaining}: `units` are septets or
// UTF-16 code units, `perSegment` what one SMS of this text carries, `remaining` what still
// fits before one more SMS is needed. An empty text is 0 segments of GSM-7.
export function countSegments(text) {
  const value = String(text || '');
  let septets = 0;
  let gsm = true;
  for (const char of value) {
    if (GSM_BASIC.has(char)) septets += 1;
    else if (GSM_EXTENSION.has(char)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  const encoding = gsm ? 'GSM-7' : 'UCS-2';
  const units = gsm ? septets : value.length;
  const limit = LIMITS[encoding];
  const perSegment = units > limit.single ? limit.multi : limit.single;
  const segments = units === 0 ? 0 : units <= limit.single ? 1 : Math.ceil(units / limit.multi);
  const remaining = Math.max(segments, 1) * perSegment - units;
  return { encoding, units, segments, perSegment, remaining };
}
