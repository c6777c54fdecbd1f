/* How many minor units each currency has (ISO 4217), as the server counts them.
 *
 * The same table as hexfleet/rides/money.py (tests/webapp/test_front_end.py keeps the two
 * equal). The browser's own Intl data cannot be used to scale amounts: it follows CLDR, which
 * gives HUF, IDR, PKR, COP and a dozen more no decimals and IQD none instead of three, so 100.00
 * HUF stored as 10000 would show as 10,000 Ft.
 */

const BY_DIGITS = {
  0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
  2: `AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP
      BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD
      FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD
      KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
      NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP
      SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED
      VES WST XCD XCG YER ZAR ZMW ZWG`,
  3: "BHD IQD JOD KWD LYD OMR TND",
  4: "CLF UYW",
};

const DIGITS = new Map();
for (const [digits, codes] of Object.entries(BY_DIGITS)) {
  for (const code of codes.split(/\s+/)) if (code) DIGITS.set(code, Number(digits));
}

/** 2 for EUR, 0 for JPY, 3 for KWD; undefined for a code ISO 4217 does not list. */
export function minorDigits(currency) {
  return DIGITS.get(String(currency).toUpperCase());
}
