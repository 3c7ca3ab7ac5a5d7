package service_test

import (
	"testing"

	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/service"
)

func TestConformanceInProcessMemory(t *testing.T) {
	d := apitest.NewMemDeployment(t, service.Config{})
	apitest.Run(t, d.Env())
}
