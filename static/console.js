/* The console works without scripts; this only spares a reload by hand.
   After a batch of codes is issued the browser saves the file and stays on the page, whose
   counts are then out of date: the file's response sets a cookie named for the form's nonce,
   and once it is there the page is loaded again (a GET), showing the new counts. */
document.addEventListener("submit", function (event) {
  var form = event.target;
  var nonce = form.querySelector("input[name=nonce]");
  if (!form.hasAttribute("data-reload-after-download") || !nonce) return;
  var mark = "issued-" + nonce.value + "=";
  var tries = 0;
  var timer = setInterval(function () {
    tries += 1;
    if (document.cookie.indexOf(mark) !== -1) {
      clearInterval(timer);
      window.location.replace(window.location.href);
    } else if (tries > 1200) {
      clearInterval(timer);
    }
  }, 250);
});
