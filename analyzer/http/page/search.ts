// Search-to-locate: matches any part of NAME.NAMESPACE (prefix matches first),
// arrow keys and Enter pick one.
const MAX = 15;

export function attachSearch(input: HTMLInputElement, results: HTMLUListElement, ids: () => Iterable<string>, pick: (id: string) => void): void {
  let active = 0;
  const show = () => {
    const q = input.value.trim().toLowerCase();
    if (!q) {
      results.hidden = true;
      return;
    }
    const prefix: string[] = [];
    const inside: string[] = [];
    for (const id of ids()) {
      const at = id.toLowerCase().indexOf(q);
      if (at === 0) prefix.push(id);
      else if (at > 0 && inside.length < 200) inside.push(id);
      if (prefix.length >= MAX) break;
    }
    const list = [...prefix.sort(), ...inside.sort()].slice(0, MAX);
    active = 0;
    results.innerHTML =
      list.map((id, i) => {
        const dot = id.lastIndexOf('.');
        return `<li data-id="${id}" class="${i === 0 ? 'active' : ''}">${id.slice(0, dot)}<span class="ns">.${id.slice(dot + 1)}</span></li>`;
      }).join('') || '<li class="muted">no service matches</li>';
    results.hidden = false;
  };
  const choose = (id: string | undefined) => {
    if (!id) return;
    results.hidden = true;
    input.value = '';
    pick(id);
  };
  input.addEventListener('input', show);
  input.addEventListener('keydown', (e) => {
    const items = [...results.querySelectorAll<HTMLLIElement>('li[data-id]')];
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      active = (active + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % Math.max(1, items.length);
      items.forEach((li, i) => li.classList.toggle('active', i === active));
    } else if (e.key === 'Enter') choose(items[active]?.dataset.id);
    else if (e.key === 'Escape') results.hidden = true;
  });
  results.addEventListener('mousedown', (e) => choose((e.target as HTMLElement).closest<HTMLElement>('li[data-id]')?.dataset.id));
  input.addEventListener('blur', () => setTimeout(() => (results.hidden = true), 150));
}
