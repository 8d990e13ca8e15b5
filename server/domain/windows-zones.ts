/**
 * Windows time zone names, as Outlook and Exchange write them in a TZID, read as IANA zones.
 *
 * Two kinds of name reach us:
 * - Windows zone ids (`W. Europe Standard Time`, `Pacific Standard Time`), which Exchange and
 *   current Outlook versions write. CLDR's windowsZones table maps each to an IANA zone (its
 *   "001" territory, the zone Windows means by it); the `windows-iana` package carries that
 *   table, kept up to date from CLDR.
 * - Display names (`(UTC+10:00) Canberra, Melbourne, Sydney`, `(UTC-03:00) Brasília`, or the
 *   list of cities alone, `Canberra, Melbourne, Sydney`), which older Outlook versions
 *   write. CLDR has no table of these: {@link DISPLAY_NAMES} lists what Windows shows for
 *   each zone id (English, as `tzutil /l` lists them, and the earlier spellings still found
 *   in files), which then goes through CLDR's table. A name is matched without its
 *   `(UTC±hh:mm)`/`(GMT±hh.mm)` prefix, letter case, accents, spaces and punctuation, so
 *   `(UTC-03:00) Brasília`, `(GMT-03.00) Brasilia` and `Brasilia` are one name.
 *
 * A name Windows localizes (a German Outlook writes `Amsterdam, Berlin, Bern, Rom, Stockholm,
 * Wien`) is not known here; such a file is read with its own VTIMEZONE, as before.
 */
import { findIana } from 'windows-iana';
import { isIanaZone, validateTimeZone } from './validation.js';

/**
 * Windows display names (without their offset prefix) and the zone id each stands for.
 * Each id must be one CLDR maps (a test checks every entry).
 */
const DISPLAY_NAMES: readonly (readonly [string, string])[] = [
  ['International Date Line West', 'Dateline Standard Time'],
  ['Coordinated Universal Time-11', 'UTC-11'],
  ['Aleutian Islands', 'Aleutian Standard Time'],
  ['Hawaii', 'Hawaiian Standard Time'],
  ['Marquesas Islands', 'Marquesas Standard Time'],
  ['Alaska', 'Alaskan Standard Time'],
  ['Coordinated Universal Time-09', 'UTC-09'],
  ['Baja California', 'Pacific Standard Time (Mexico)'],
  ['Tijuana, Baja California', 'Pacific Standard Time (Mexico)'],
  ['Coordinated Universal Time-08', 'UTC-08'],
  ['Pacific Time (US & Canada)', 'Pacific Standard Time'],
  ['Pacific Time (US & Canada); Tijuana', 'Pacific Standard Time'],
  ['Arizona', 'US Mountain Standard Time'],
  ['Chihuahua, La Paz, Mazatlan', 'Mountain Standard Time (Mexico)'],
  ['La Paz, Mazatlan', 'Mountain Standard Time (Mexico)'],
  ['Mountain Time (US & Canada)', 'Mountain Standard Time'],
  ['Yukon', 'Yukon Standard Time'],
  ['Central America', 'Central America Standard Time'],
  ['Central Time (US & Canada)', 'Central Standard Time'],
  ['Easter Island', 'Easter Island Standard Time'],
  ['Guadalajara, Mexico City, Monterrey', 'Central Standard Time (Mexico)'],
  ['Saskatchewan', 'Canada Central Standard Time'],
  ['Bogota, Lima, Quito, Rio Branco', 'SA Pacific Standard Time'],
  ['Bogota, Lima, Quito', 'SA Pacific Standard Time'],
  ['Chetumal', 'Eastern Standard Time (Mexico)'],
  ['Eastern Time (US & Canada)', 'Eastern Standard Time'],
  ['Haiti', 'Haiti Standard Time'],
  ['Havana', 'Cuba Standard Time'],
  ['Indiana (East)', 'US Eastern Standard Time'],
  ['Turks and Caicos', 'Turks And Caicos Standard Time'],
  ['Asuncion', 'Paraguay Standard Time'],
  ['Atlantic Time (Canada)', 'Atlantic Standard Time'],
  ['Caracas', 'Venezuela Standard Time'],
  ['Cuiaba', 'Central Brazilian Standard Time'],
  ['Georgetown, La Paz, Manaus, San Juan', 'SA Western Standard Time'],
  ['Santiago', 'Pacific SA Standard Time'],
  ['Newfoundland', 'Newfoundland Standard Time'],
  ['Araguaina', 'Tocantins Standard Time'],
  ['Brasilia', 'E. South America Standard Time'],
  ['Cayenne, Fortaleza', 'SA Eastern Standard Time'],
  ['City of Buenos Aires', 'Argentina Standard Time'],
  ['Buenos Aires', 'Argentina Standard Time'],
  ['Greenland', 'Greenland Standard Time'],
  ['Montevideo', 'Montevideo Standard Time'],
  ['Punta Arenas', 'Magallanes Standard Time'],
  ['Saint Pierre and Miquelon', 'Saint Pierre Standard Time'],
  ['Salvador', 'Bahia Standard Time'],
  ['Coordinated Universal Time-02', 'UTC-02'],
  ['Azores', 'Azores Standard Time'],
  ['Cabo Verde Is.', 'Cape Verde Standard Time'],
  ['Cape Verde Is.', 'Cape Verde Standard Time'],
  ['Coordinated Universal Time', 'UTC'],
  ['Dublin, Edinburgh, Lisbon, London', 'GMT Standard Time'],
  ['Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London', 'GMT Standard Time'],
  ['Monrovia, Reykjavik', 'Greenwich Standard Time'],
  ['Sao Tome', 'Sao Tome Standard Time'],
  ['Casablanca', 'Morocco Standard Time'],
  ['Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna', 'W. Europe Standard Time'],
  ['Belgrade, Bratislava, Budapest, Ljubljana, Prague', 'Central Europe Standard Time'],
  ['Brussels, Copenhagen, Madrid, Paris', 'Romance Standard Time'],
  ['Sarajevo, Skopje, Warsaw, Zagreb', 'Central European Standard Time'],
  ['West Central Africa', 'W. Central Africa Standard Time'],
  ['Amman', 'Jordan Standard Time'],
  ['Athens, Bucharest', 'GTB Standard Time'],
  ['Athens, Bucharest, Istanbul', 'GTB Standard Time'],
  ['Beirut', 'Middle East Standard Time'],
  ['Cairo', 'Egypt Standard Time'],
  ['Chisinau', 'E. Europe Standard Time'],
  ['Damascus', 'Syria Standard Time'],
  ['Gaza, Hebron', 'West Bank Standard Time'],
  ['Harare, Pretoria', 'South Africa Standard Time'],
  ['Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius', 'FLE Standard Time'],
  ['Helsinki, Kiev, Riga, Sofia, Tallinn, Vilnius', 'FLE Standard Time'],
  ['Jerusalem', 'Israel Standard Time'],
  ['Juba', 'South Sudan Standard Time'],
  ['Kaliningrad', 'Kaliningrad Standard Time'],
  ['Khartoum', 'Sudan Standard Time'],
  ['Tripoli', 'Libya Standard Time'],
  ['Windhoek', 'Namibia Standard Time'],
  ['Baghdad', 'Arabic Standard Time'],
  ['Istanbul', 'Turkey Standard Time'],
  ['Kuwait, Riyadh', 'Arab Standard Time'],
  ['Minsk', 'Belarus Standard Time'],
  ['Moscow, St. Petersburg', 'Russian Standard Time'],
  ['Moscow, St. Petersburg, Volgograd', 'Russian Standard Time'],
  ['Nairobi', 'E. Africa Standard Time'],
  ['Volgograd', 'Volgograd Standard Time'],
  ['Tehran', 'Iran Standard Time'],
  ['Abu Dhabi, Muscat', 'Arabian Standard Time'],
  ['Astrakhan, Ulyanovsk', 'Astrakhan Standard Time'],
  ['Baku', 'Azerbaijan Standard Time'],
  ['Izhevsk, Samara', 'Russia Time Zone 3'],
  ['Port Louis', 'Mauritius Standard Time'],
  ['Saratov', 'Saratov Standard Time'],
  ['Tbilisi', 'Georgian Standard Time'],
  ['Yerevan', 'Caucasus Standard Time'],
  ['Kabul', 'Afghanistan Standard Time'],
  ['Ashgabat, Tashkent', 'West Asia Standard Time'],
  ['Ekaterinburg', 'Ekaterinburg Standard Time'],
  ['Islamabad, Karachi', 'Pakistan Standard Time'],
  ['Qyzylorda', 'Qyzylorda Standard Time'],
  ['Chennai, Kolkata, Mumbai, New Delhi', 'India Standard Time'],
  ['Sri Jayawardenepura', 'Sri Lanka Standard Time'],
  ['Kathmandu', 'Nepal Standard Time'],
  ['Astana', 'Central Asia Standard Time'],
  ['Dhaka', 'Bangladesh Standard Time'],
  ['Omsk', 'Omsk Standard Time'],
  ['Yangon (Rangoon)', 'Myanmar Standard Time'],
  ['Bangkok, Hanoi, Jakarta', 'SE Asia Standard Time'],
  ['Barnaul, Gorno-Altaysk', 'Altai Standard Time'],
  ['Hovd', 'W. Mongolia Standard Time'],
  ['Krasnoyarsk', 'North Asia Standard Time'],
  ['Novosibirsk', 'N. Central Asia Standard Time'],
  ['Tomsk', 'Tomsk Standard Time'],
  ['Beijing, Chongqing, Hong Kong, Urumqi', 'China Standard Time'],
  ['Irkutsk', 'North Asia East Standard Time'],
  ['Kuala Lumpur, Singapore', 'Singapore Standard Time'],
  ['Perth', 'W. Australia Standard Time'],
  ['Taipei', 'Taipei Standard Time'],
  ['Ulaanbaatar', 'Ulaanbaatar Standard Time'],
  ['Eucla', 'Aus Central W. Standard Time'],
  ['Chita', 'Transbaikal Standard Time'],
  ['Osaka, Sapporo, Tokyo', 'Tokyo Standard Time'],
  ['Pyongyang', 'North Korea Standard Time'],
  ['Seoul', 'Korea Standard Time'],
  ['Yakutsk', 'Yakutsk Standard Time'],
  ['Adelaide', 'Cen. Australia Standard Time'],
  ['Darwin', 'AUS Central Standard Time'],
  ['Brisbane', 'E. Australia Standard Time'],
  ['Canberra, Melbourne, Sydney', 'AUS Eastern Standard Time'],
  ['Guam, Port Moresby', 'West Pacific Standard Time'],
  ['Hobart', 'Tasmania Standard Time'],
  ['Vladivostok', 'Vladivostok Standard Time'],
  ['Lord Howe Island', 'Lord Howe Standard Time'],
  ['Bougainville Island', 'Bougainville Standard Time'],
  ['Chokurdakh', 'Russia Time Zone 10'],
  ['Magadan', 'Magadan Standard Time'],
  ['Norfolk Island', 'Norfolk Standard Time'],
  ['Sakhalin', 'Sakhalin Standard Time'],
  ['Solomon Is., New Caledonia', 'Central Pacific Standard Time'],
  ['Anadyr, Petropavlovsk-Kamchatsky', 'Russia Time Zone 11'],
  ['Auckland, Wellington', 'New Zealand Standard Time'],
  ['Coordinated Universal Time+12', 'UTC+12'],
  ['Fiji', 'Fiji Standard Time'],
  ['Chatham Islands', 'Chatham Islands Standard Time'],
  ['Coordinated Universal Time+13', 'UTC+13'],
  ["Nuku'alofa", 'Tonga Standard Time'],
  ['Samoa', 'Samoa Standard Time'],
  ['Kiritimati Island', 'Line Islands Standard Time'],
];

/** The display names' own table (see {@link DISPLAY_NAMES}), for the tests. */
export const WINDOWS_DISPLAY_NAMES: ReadonlyMap<string, string> = new Map(DISPLAY_NAMES);

/**
 * `(UTC+10:00) `, `(UTC) `, `(GMT-03.00) `, `(GMT) ` at the start of a display name: the
 * zone's base offset when the name was written, which Windows has changed for some zones;
 * the cities say which zone it is.
 */
const OFFSET_PREFIX = /^\s*\((?:UTC|GMT)(?:\s*[+-]\s*\d{1,2}(?:[:.]\d{2})?)?\)\s*/i;

/** A name as it is matched: no offset prefix, accents, case, spaces or punctuation. */
function normalized(name: string): string {
  return name
    .replace(OFFSET_PREFIX, '')
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/&/g, 'and')
    .toLowerCase()
    .replace(/[^a-z0-9+-]/g, '');
}

let byNormalizedName: Map<string, string> | undefined;

/** Windows ids and display names, normalized, to the Windows id (built at first use). */
function windowsIds(): Map<string, string> {
  if (byNormalizedName !== undefined) return byNormalizedName;
  const table = new Map<string, string>();
  for (const [display, id] of DISPLAY_NAMES) {
    table.set(normalized(id), id);
    table.set(normalized(display), id);
  }
  byNormalizedName = table;
  return table;
}

/**
 * The IANA zone CLDR maps a Windows zone id to (its "001" territory, the zone Windows means),
 * in the spelling this process knows it by, or null.
 */
export function ianaOfWindowsId(id: string): string | null {
  // CLDR's name first, then its aliases (Asia/Calcutta, then Asia/Kolkata).
  const iana = findIana(id, '001').find((name) => isIanaZone(name));
  return iana === undefined ? null : validateTimeZone(iana);
}

const known = new Map<string, string | null>();
const MAX_KNOWN = 1000;

/**
 * The IANA zone a Windows zone name in a TZID stands for — a Windows zone id, or a display
 * name with or without its offset prefix (see the module comment) — in its canonical
 * spelling, or null when the name is neither. Memoized: an import asks for every time it reads.
 */
export function ianaOfWindowsZone(tzid: string): string | null {
  const memo = known.get(tzid);
  if (memo !== undefined) return memo;
  const direct = ianaOfWindowsId(tzid.trim());
  const id = direct === null ? windowsIds().get(normalized(tzid)) : undefined;
  const iana = direct ?? (id === undefined ? null : ianaOfWindowsId(id));
  if (known.size >= MAX_KNOWN) known.clear();
  known.set(tzid, iana);
  return iana;
}
