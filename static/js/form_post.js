// Submits the authorization response to the application (response_mode=form_post).
// Without JavaScript, the page shows a Continue button instead.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("form-post");
  if (form) { form.submit(); }
});
