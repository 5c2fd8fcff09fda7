// The sign-in page: trades a bearer token for a session cookie
// (POST /api/v1/session; HttpOnly, SameSite=Strict, Secure over TLS), then
// opens the dashboard. The token is sent once and kept nowhere.
window.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('sign-in');
  const error = document.getElementById('sign-in-error');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const input = document.getElementById('token');
    let res;
    try {
      res = await fetch('/api/v1/session', {
        method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', Accept: 'application/json'},
        body: JSON.stringify({token: input.value.trim()}),
      });
    } catch (e) {
      error.textContent = 'The coordinator is not reachable: ' + e.message;
      error.hidden = false;
      return;
    }
    input.value = '';
    if (res.ok) {
      location.assign('/');
      return;
    }
    let body = {};
    try { body = await res.json(); } catch (e) { /* not JSON */ }
    error.textContent = (body.error || `HTTP ${res.status}`) + (body.hint ? ` (${body.hint})` : '');
    error.hidden = false;
  });
});
