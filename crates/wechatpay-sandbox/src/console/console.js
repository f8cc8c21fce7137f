// The console's buttons: a form of class "action" posts its fields as JSON to its test
// helper, after a confirmation, and shows the answer as text in its <output>.
document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!form.classList.contains('action')) return;
  event.preventDefault();
  if (!window.confirm(form.dataset.confirm)) return;
  const body = {};
  for (const field of form.querySelectorAll('input[name], select[name]')) {
    body[field.name] = field.type === 'number' ? Number(field.value) : field.value;
  }
  const out = form.querySelector('output');
  out.className = '';
  out.textContent = 'sending…';
  try {
    const r = await fetch(form.action, {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify(body),
    });
    out.textContent = `${r.status} ${await r.text()}`;
    out.className = r.ok ? 'ok' : 'bad';
  } catch (e) {
    out.textContent = String(e);
    out.className = 'bad';
  }
});
