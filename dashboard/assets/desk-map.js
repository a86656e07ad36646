/* The map page's track slider holds Unix seconds; its tooltip shows WIB. */
window.dccFunctions = window.dccFunctions || {};
window.dccFunctions.wibTime = function (seconds) {
  const wib = new Date((seconds + 7 * 3600) * 1000);
  return wib.toISOString().slice(11, 16) + " WIB";
};
