// The edition switch (_ext/editions.py) leads to the same section of the
// other edition: section ids are the same in both.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.edition-switch");
  if (link && window.location.hash) {
    link.href = link.href.split("#")[0] + window.location.hash;
  }
});
