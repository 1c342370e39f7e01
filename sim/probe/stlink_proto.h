/*
 * ST-LINK USB protocol constants: command bytes, sub-commands, status codes
 * and modes, with the names O12 (openocd v0.12.0 src/jtag/drivers/
 * stlink_usb.c) gives them; S17 (stlink v1.7.0 src/stlink-lib/commands.h,
 * inc/stlink.h) uses the same values. Shared by the engine and its tests.
 */
#ifndef FLASHLINE_SIM_PROBE_STLINK_PROTO_H
#define FLASHLINE_SIM_PROBE_STLINK_PROTO_H

/* Framing (S17 usb.h STLINK_CMD_SIZE; O12 STLINK_CMD_SIZE_V2). */
#define STLINK_CMD_SIZE 16

/* Top-level commands. */
#define STLINK_GET_VERSION          0xF1
#define STLINK_DEBUG_COMMAND        0xF2
#define STLINK_DFU_COMMAND          0xF3
#define STLINK_SWIM_COMMAND         0xF4
#define STLINK_GET_CURRENT_MODE     0xF5
#define STLINK_GET_TARGET_VOLTAGE   0xF7
#define STLINK_APIV3_GET_VERSION_EX 0xFB

#define STLINK_DFU_EXIT  0x07
#define STLINK_SWIM_EXIT 0x01

/* GET_CURRENT_MODE answers. */
#define STLINK_DEV_DFU_MODE        0x00
#define STLINK_DEV_MASS_MODE       0x01
#define STLINK_DEV_DEBUG_MODE      0x02
#define STLINK_DEV_SWIM_MODE       0x03
#define STLINK_DEV_BOOTLOADER_MODE 0x04

/* DEBUG_COMMAND sub-commands. */
#define STLINK_DEBUG_GETSTATUS              0x01
#define STLINK_DEBUG_FORCEDEBUG             0x02
#define STLINK_DEBUG_APIV1_RESETSYS         0x03
#define STLINK_DEBUG_APIV1_READALLREGS      0x04
#define STLINK_DEBUG_APIV1_READREG          0x05
#define STLINK_DEBUG_APIV1_WRITEREG         0x06
#define STLINK_DEBUG_READMEM_32BIT          0x07
#define STLINK_DEBUG_WRITEMEM_32BIT         0x08
#define STLINK_DEBUG_RUNCORE                0x09
#define STLINK_DEBUG_STEPCORE               0x0A
#define STLINK_DEBUG_READMEM_8BIT           0x0C
#define STLINK_DEBUG_WRITEMEM_8BIT          0x0D
#define STLINK_DEBUG_APIV1_WRITEDEBUGREG    0x0F
#define STLINK_DEBUG_APIV1_ENTER            0x20
#define STLINK_DEBUG_EXIT                   0x21
#define STLINK_DEBUG_READCOREID             0x22
#define STLINK_DEBUG_APIV2_ENTER            0x30
#define STLINK_DEBUG_APIV2_READ_IDCODES     0x31
#define STLINK_DEBUG_APIV2_RESETSYS         0x32
#define STLINK_DEBUG_APIV2_READREG          0x33
#define STLINK_DEBUG_APIV2_WRITEREG         0x34
#define STLINK_DEBUG_APIV2_WRITEDEBUGREG    0x35
#define STLINK_DEBUG_APIV2_READDEBUGREG     0x36
#define STLINK_DEBUG_APIV2_READALLREGS      0x3A
#define STLINK_DEBUG_APIV2_GETLASTRWSTATUS  0x3B
#define STLINK_DEBUG_APIV2_DRIVE_NRST       0x3C
#define STLINK_DEBUG_APIV2_GETLASTRWSTATUS2 0x3E
#define STLINK_DEBUG_APIV2_START_TRACE_RX   0x40
#define STLINK_DEBUG_APIV2_STOP_TRACE_RX    0x41
#define STLINK_DEBUG_APIV2_GET_TRACE_NB     0x42
#define STLINK_DEBUG_APIV2_SWD_SET_FREQ     0x43
#define STLINK_DEBUG_APIV2_JTAG_SET_FREQ    0x44
#define STLINK_DEBUG_APIV2_READ_DAP_REG     0x45
#define STLINK_DEBUG_APIV2_WRITE_DAP_REG    0x46
#define STLINK_DEBUG_APIV2_READMEM_16BIT    0x47
#define STLINK_DEBUG_APIV2_WRITEMEM_16BIT   0x48
#define STLINK_DEBUG_APIV2_INIT_AP          0x4B
#define STLINK_DEBUG_APIV2_CLOSE_AP_DBG     0x4C
#define STLINK_DEBUG_WRITEMEM_32BIT_NO_INC  0x50
#define STLINK_DEBUG_READMEM_32BIT_NO_INC   0x54
#define STLINK_APIV3_SET_COM_FREQ           0x61
#define STLINK_APIV3_GET_COM_FREQ           0x62

/* ENTER arguments. */
#define STLINK_DEBUG_ENTER_JTAG_RESET    0x00
#define STLINK_DEBUG_ENTER_SWD_NO_RESET  0xA3
#define STLINK_DEBUG_ENTER_JTAG_NO_RESET 0xA4

/* DRIVE_NRST arguments. */
#define STLINK_NRST_LOW   0x00
#define STLINK_NRST_HIGH  0x01
#define STLINK_NRST_PULSE 0x02

/* READ/WRITE_DAP_REG port meaning "the DP itself". */
#define STLINK_DEBUG_PORT_ACCESS 0xFFFF

/* Status byte (O12 stlink_usb_error_check). */
#define STLINK_DEBUG_ERR_OK            0x80
#define STLINK_DEBUG_ERR_FAULT         0x81
#define STLINK_SWD_AP_WAIT             0x10
#define STLINK_SWD_AP_FAULT            0x11
#define STLINK_SWD_AP_ERROR            0x12
#define STLINK_SWD_AP_PARITY_ERROR     0x13
#define STLINK_SWD_DP_WAIT             0x14
#define STLINK_SWD_DP_FAULT            0x15
#define STLINK_SWD_DP_ERROR            0x16
#define STLINK_SWD_DP_PARITY_ERROR     0x17
#define STLINK_SWD_AP_WDATA_ERROR      0x18
#define STLINK_SWD_AP_STICKY_ERROR     0x19
#define STLINK_SWD_AP_STICKYORUN_ERROR 0x1A
#define STLINK_BAD_AP_ERROR            0x1D

/* API v1 GETSTATUS answers. */
#define STLINK_CORE_RUNNING 0x80
#define STLINK_CORE_HALTED  0x81

#endif
