/* When the desk's session has ended (time limit, log-out elsewhere, account
   changed), the server answers the page's data requests with HTTP 401. The
   page would then stop updating without a word; instead, go to the log-in
   form and come back here afterwards. */
(function () {
  "use strict";
  var original = window.fetch;
  if (!original) {
    return;
  }
  var leaving = false;
  window.fetch = function () {
    return original.apply(this, arguments).then(function (response) {
      if (!leaving && response.status === 401 &&
          String(response.url).indexOf("/_dash-") !== -1) {
        leaving = true;
        var here = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(here));
      }
      return response;
    });
  };
})();
