package smtpserver

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// memStore is an in-memory Store for the fuzz target and for tests that
// need to fail deliveries on purpose.
type memStore struct {
	mu        sync.Mutex
	accounts  map[string]store.Account // by email
	delivered map[int64][]store.NewMessage
	failNext  error
}

var _ Store = (*memStore)(nil)

func newMemStore(passwordHash string, emails ...string) *memStore {
	m := &memStore{accounts: map[string]store.Account{}, delivered: map[int64][]store.NewMessage{}}
	for i, e := range emails {
		m.accounts[e] = store.Account{ID: int64(i + 1), Email: e, PasswordHash: passwordHash}
	}
	return m
}

func (m *memStore) AccountByEmail(ctx context.Context, email string) (store.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.accounts[strings.ToLower(email)]
	if !ok {
		return store.Account{}, store.ErrNotFound
	}
	return a, nil
}

func (m *memStore) Accounts(ctx context.Context) ([]store.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Account
	for _, a := range m.accounts {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out, nil
}

func (m *memStore) IsLocalDomain(ctx context.Context, domain string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for e := range m.accounts {
		if _, d, _ := strings.Cut(e, "@"); strings.EqualFold(d, domain) {
			return true, nil
		}
	}
	return false, nil
}

func (m *memStore) Deliver(ctx context.Context, targets []store.Target, msg store.NewMessage) ([]store.Delivered, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failNext; err != nil {
		m.failNext = nil
		return nil, err
	}
	var out []store.Delivered
	for _, t := range targets {
		m.delivered[t.AccountID] = append(m.delivered[t.AccountID], msg)
		out = append(out, store.Delivered{AccountID: t.AccountID})
	}
	return out, nil
}

func (m *memStore) inbox(email string) ([][]byte, []*message.Part) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var raws [][]byte
	var parts []*message.Part
	for _, msg := range m.delivered[m.accounts[email].ID] {
		raws = append(raws, msg.Raw)
		parts = append(parts, msg.Part)
	}
	return raws, parts
}

func (m *memStore) AccountUsage(ctx context.Context, accountID int64) (store.Usage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var u store.Usage
	for _, msg := range m.delivered[accountID] {
		u.Messages++
		u.Bytes += int64(len(msg.Raw))
	}
	return u, nil
}
