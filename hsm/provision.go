package hsm

import (
	"context"
	"errors"

	"github.com/roamsign/roamsign"
)

// Locker runs fn while no other holder of the lock called name runs,
// across every process sharing the locker. The stores of package store
// implement it: store/postgres with a transaction-scoped advisory lock,
// store/sqlite with a write transaction, store/memory within its process.
// fn may run more than once (a retried database transaction).
type Locker interface {
	WithLock(ctx context.Context, name string, fn func(context.Context) error) error
}

// ProvisionLock is the name of the lock [ProvisionMACKeys] takes.
const ProvisionLock = "roamsign-key-provisioning"

// ProvisionMACKeys returns the MAC keys of ks named by ids, in order,
// generating in ks those that do not exist yet. Replicas of a service
// start it together on a fresh key store; a key made by two of them at
// once would exist twice, with two different values, and every replica
// after would refuse to start. So keys are looked up first without a lock
// (a restart finds them all), and the missing ones are looked up again and
// generated while holding lock (ProvisionLock), which every replica must
// share: the database they share. Replicas never need a separate set-up
// step.
//
// A key store that already holds several keys with one of the ids (made by
// replicas that provisioned at the same time without this lock) gives an
// error of kind roamsign.ErrConflict that says how to repair it.
func ProvisionMACKeys(ctx context.Context, ks KeyStore, lock Locker, ids ...string) ([]MACKey, error) {
	const op = "hsm.ProvisionMACKeys"
	ms, ok := ks.(MACKeyStore)
	if !ok {
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "the key store holds no MAC keys")
	}
	if lock == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no lock shared by the replicas")
	}
	keys := make([]MACKey, len(ids))
	all := make([]int, len(ids))
	for i := range all {
		all[i] = i
	}
	missing, err := lookUpMACKeys(ctx, op, ks, ids, all, keys)
	if err != nil {
		return nil, err
	}
	if len(missing) == 0 {
		return keys, nil
	}
	err = lock.WithLock(ctx, ProvisionLock, func(ctx context.Context) error {
		missing, err := lookUpMACKeys(ctx, op, ks, ids, missing, keys)
		if err != nil {
			return err
		}
		for _, i := range missing {
			if keys[i], err = ms.GenerateMAC(ctx, ids[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// lookUpMACKeys looks up the keys ids[i], for every i in which, into keys,
// and returns the indexes of those not found.
func lookUpMACKeys(ctx context.Context, op string, ks KeyStore, ids []string, which []int, keys []MACKey) ([]int, error) {
	ms := ks.(MACKeyStore)
	var missing []int
	for _, i := range which {
		k, err := ms.MACKey(ctx, ids[i])
		switch {
		case err == nil:
			keys[i] = k
		case errors.Is(err, roamsign.ErrNotFound):
			missing = append(missing, i)
		case errors.Is(err, roamsign.ErrConflict):
			return nil, roamsign.Wrap(roamsign.ErrConflict, op, err, duplicateAdvice(ks, ids[i]))
		default:
			return nil, err
		}
	}
	return missing, nil
}

// duplicateAdvice says how to repair a key store holding several MAC keys
// with id.
func duplicateAdvice(ks KeyStore, id string) string {
	how := "destroy all but one of them with the key store's tools"
	if a, ok := ks.(interface{ destroyAdvice(id string) string }); ok {
		how = a.destroyAdvice(id)
	}
	return "the key store holds several MAC keys with id " + id +
		", made by replicas that provisioned keys at the same time: stop every replica, " + how +
		", and start again (challenges issued before may fail; PINs set while the copies existed may need an administrator's reset)"
}
