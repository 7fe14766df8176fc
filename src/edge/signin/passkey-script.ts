/** The passkey page's one inline script, and its hash for the page's Content-Security-Policy. */
import { createHash } from 'node:crypto';

/** The page script: options JSON → navigator.credentials → credential JSON in the form → submit. */
export const PASSKEY_SCRIPT = `(() => {
  const form = document.getElementById('passkey-form');
  if (!form || !window.PublicKeyCredential) return;
  const mode = form.dataset.mode;
  const opts = JSON.parse(form.dataset.options);
  const err = document.getElementById('passkey-error');
  const bin = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).buffer;
  const b64 = (b) => b ? btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '') : undefined;
  const ids = (list) => (list || []).map((c) => ({ ...c, id: bin(c.id) }));
  form.addEventListener('submit', async (event) => {
    if (form.elements.credential.value) return;
    event.preventDefault();
    err.hidden = true;
    try {
      const cred = mode === 'register'
        ? await navigator.credentials.create({ publicKey: { ...opts, challenge: bin(opts.challenge), user: { ...opts.user, id: bin(opts.user.id) }, excludeCredentials: ids(opts.excludeCredentials) } })
        : await navigator.credentials.get({ publicKey: { ...opts, challenge: bin(opts.challenge), allowCredentials: ids(opts.allowCredentials) } });
      const r = cred.response;
      form.elements.credential.value = JSON.stringify({
        id: cred.id, rawId: b64(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults(),
        authenticatorAttachment: cred.authenticatorAttachment || undefined,
        response: mode === 'register'
          ? { clientDataJSON: b64(r.clientDataJSON), attestationObject: b64(r.attestationObject), transports: r.getTransports ? r.getTransports() : [] }
          : { clientDataJSON: b64(r.clientDataJSON), authenticatorData: b64(r.authenticatorData), signature: b64(r.signature), userHandle: b64(r.userHandle) },
      });
      form.submit();
    } catch (e) {
      err.textContent = e && e.name === 'NotAllowedError' ? 'The passkey was not used (cancelled or timed out). Try again.' : 'This browser could not use a passkey: ' + ((e && e.message) || e);
      err.hidden = false;
    }
  });
})();`;

/** For the page's Content-Security-Policy: only this exact inline script may run. */
export const PASSKEY_SCRIPT_HASH = `sha256-${createHash('sha256').update(PASSKEY_SCRIPT).digest('base64')}`;
